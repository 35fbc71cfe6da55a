package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

// TestRecipientsMix: age cannot seal one file to post-quantum and classic
// keys; a list that mixes them is a problem at the entry that brings the
// mix, once for defaults that mix them (not again for each device), once
// per device otherwise (a device's inline keys come before its files),
// and a post-quantum list alone is valid.
func TestRecipientsMix(t *testing.T) {
	pq, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	pqKey := pq.Recipient().String()
	dir := writeManifests(t, map[string]string{
		"d.yaml":  "version: 1\ndefaults:\n  recipients: [KEY, PQ]\ndevices:\n  - name: alice\n  - name: bob\n    recipients: [KEY]\n",
		"e.yaml":  "version: 1\ndevices:\n  - name: carol\n    recipients: [KEY]\n    recipientsFiles: [pq.pub]\n  - name: dave\n    recipientsFiles: [pq.pub]\n    recipients: [KEY]\n",
		"ok.yaml": "version: 1\ndefaults:\n  recipientsFiles: [pq.pub]\ndevices:\n  - name: erin\n    recipients: [PQ]\n",
		"pq.pub":  "# a post-quantum key\nPQ\n",
	})
	for _, name := range []string{"d.yaml", "e.yaml", "ok.yaml", "pq.pub"} {
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(b), "PQ", pqKey)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got := diagsOf(t, loadErr(Load(filepath.Join(dir, "d.yaml"))))
	if len(got) != 1 || !strings.HasPrefix(got[0], "d.yaml:3:80 recipients-mix: defaults: its recipients mix post-quantum keys (line 3) with classic keys (line 3)") {
		t.Errorf("defaults: %q", got)
	}
	got = diagsOf(t, loadErr(Load(filepath.Join(dir, "e.yaml"))))
	if len(got) != 2 ||
		!strings.HasPrefix(got[0], `e.yaml:5:23 recipients-mix: device "carol": its recipients mix post-quantum keys (recipients file pq.pub, line 2) with classic keys (line 4)`) ||
		!strings.HasPrefix(got[1], `e.yaml:7:23 recipients-mix: device "dave": its recipients mix post-quantum keys (recipients file pq.pub, line 2) with classic keys (line 8)`) {
		t.Errorf("devices: %q", got)
	}
	if m, err := Load(filepath.Join(dir, "ok.yaml")); err != nil || len(m.Devices[0].Recipients) != 1 {
		t.Errorf("post-quantum only: %v", err)
	}
}
