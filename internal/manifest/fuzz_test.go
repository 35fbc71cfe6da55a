package manifest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mfabulk/mfabulk/internal/seal"
)

// FuzzParse feeds arbitrary bytes to the manifest parser: it must return
// a manifest or diagnostics, never panic, and never run away in memory.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("../../examples/manifests/*.yaml")
	for _, s := range seeds {
		b, _ := os.ReadFile(s)
		f.Add(b)
	}
	f.Add([]byte("version: 1\ndevices:\n  - name: a\n    recipients: [" + key1 + "]\n"))
	f.Add([]byte("a: &a [*a, *a]\nb: &b [*a, *a]\n"))
	f.Add([]byte("version: 1\ndevices: [{name: x, tags: {aws:k: v}, outfile: '{{.Nope}}'}]\n"))
	f.Add([]byte("\xff\xfe"))
	f.Add([]byte("version: 1\ndevices: [{name: x, recipientsFiles: [/dev/zero]}]\n"))
	f.Add([]byte("version: 1\nstore: s3://mfa-outfiles/q4/\ndevices:\n  - name: a\n    outfile: 'keys/{{.Name}}{{.Ext}}.age'\n    recipients: [" + key1 + "]\n"))
	f.Add([]byte("version: 1\nstore: {url: 's3://a..b/./x//', kmsKeyId: alias/k}\ndevices: [{name: x, outfile: '../{{.Path}}'}]\n"))
	root := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse("fuzz.yaml", root, data)
		if (m == nil) == (err == nil) {
			t.Fatalf("Parse returned manifest %v and error %v", m, err)
		}
	})
}

// FuzzParseRecipient feeds arbitrary strings to recipient parsing.
func FuzzParseRecipient(f *testing.F) {
	f.Add(key1)
	f.Add("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN")
	f.Add("ssh-rsa AAAA")
	f.Add("age1")
	f.Add("age1pq1")
	f.Add("age1tag1qwe0kafsjrar4txm6heqnhpfuggzr0gvznz7fvygxrlq90u5mq2pysxtw6h")
	f.Add("age1tagpq1")
	f.Add("age1yubikey1qgrsu9guyv4rzwplgex4gkmzd9c8wl593jfe4gdg47mtm3xt6tv7quk8yfa")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := seal.ParseRecipient(s)
		if (r == nil) == (err == nil) {
			t.Fatalf("ParseRecipient(%q) = %v, %v", s, r, err)
		}
	})
}
