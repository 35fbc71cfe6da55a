package manifest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mfabulk/mfabulk/internal/seal"
)

const key1 = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"

func parse(t *testing.T, src string) (*Manifest, Diagnostics) {
	t.Helper()
	src = strings.ReplaceAll(src, "KEY", key1)
	m, err := Parse("m.yaml", "/root", []byte(src))
	if err == nil {
		return m, nil
	}
	var ds Diagnostics
	if !errors.As(err, &ds) {
		t.Fatalf("Parse: %v is not Diagnostics", err)
	}
	return nil, ds
}

func TestDefaultsApplied(t *testing.T) {
	m, ds := parse(t, `version: 1
defaults:
  path: /cohorts/q4/
  recipients: [KEY]
  tags: {cohort: q4, team: x}
devices:
  - name: alice
  - name: bob
    bootstrap: Base32StringSeed
    tags: {team: payments}
`)
	if ds != nil {
		t.Fatal(ds)
	}
	a, b := m.Devices[0], m.Devices[1]
	if a.Path != "/cohorts/q4/" || a.Bootstrap != "QRCodePNG" || a.Outfile != filepath.FromSlash("/root/out/alice.png.age") {
		t.Errorf("alice = %+v", a)
	}
	if b.Outfile != filepath.FromSlash("/root/out/bob.txt.age") || b.Tags["team"] != "payments" || b.Tags["cohort"] != "q4" {
		t.Errorf("bob = %+v", b)
	}
	if len(a.Recipients) != 1 {
		t.Errorf("recipients = %v", a.Recipients)
	}
}

// TestRules checks each rule reports the exact place of the problem.
func TestRules(t *testing.T) {
	tests := []struct {
		name, src, rule, pos string
	}{
		{"syntax", "version: 1\ndevices: [\n", "yaml-syntax", "m.yaml:2:11"},
		{"syntax open list at end", "version: 1\ndevices:\n  - name: a\n    recipients: [KEY]\n  - name: b\n    recipients: [b\n", "yaml-syntax", "m.yaml:6:17"},
		{"syntax open list", "version: 1\ndevices:\n  - name: a\n    recipients: [b\n  - name: c\n    path: /\n", "yaml-syntax", "m.yaml:4:17"},
		{"syntax mapping value", "version: 1\ndevices:\n  - name: a: b\n", "yaml-syntax", "m.yaml:3:12"},
		{"syntax open quote", "version: 1\ndevices:\n  - name: \"a\n    path: /\n", "yaml-syntax", "m.yaml:3:11"},
		{"syntax tab", "version: 1\ndevices:\n\t- name: a\n", "yaml-syntax", "m.yaml:3:1"},
		{"syntax indented key", "version: 1\n  devices: []\n", "yaml-syntax", "m.yaml:2:10"},
		{"empty", "", "file-empty", "m.yaml:1:1"},
		{"version", "version: 2\ndevices: []\n", "version", "m.yaml:1:10"},
		{"unknown field", "version: 1\ndevices:\n  - name: a\n    recipents: [KEY]\n", "yaml-unknown-field", "m.yaml:4:5"},
		{"duplicate key", "version: 1\ndevices:\n  - name: a\n    name: b\n    recipients: [KEY]\n", "yaml-duplicate-key", "m.yaml:4:5"},
		{"wrong type", "version: 1\ndevices:\n  - name: [a]\n    recipients: [KEY]\n", "yaml-type", "m.yaml:3:11"},
		{"alias", "version: 1\ndefaults: &d {path: /}\ndevices: []\n", "yaml-alias", "m.yaml:2:11"},
		{"name pattern", "version: 1\ndevices:\n  - name: al ice\n    recipients: [KEY]\n", "name-pattern", "m.yaml:3:11"},
		{"name unique ci", "version: 1\ndefaults: {recipients: [KEY]}\ndevices:\n  - name: alice\n  - name: Alice\n", "name-unique", "m.yaml:5:11"},
		{"path", "version: 1\ndevices:\n  - name: a\n    path: /no-trailing\n    recipients: [KEY]\n", "path-pattern", "m.yaml:4:11"},
		{"bootstrap", "version: 1\ndevices:\n  - name: a\n    bootstrap: SMS\n    recipients: [KEY]\n", "bootstrap", "m.yaml:4:16"},
		{"no recipient", "version: 1\ndevices:\n  - name: a\n", "recipient-required", "m.yaml:3:11"},
		{"bad recipient", "version: 1\ndevices:\n  - name: a\n    recipients: [age1nope]\n", "recipient", "m.yaml:4:18"},
		{"aws tag", "version: 1\ndevices:\n  - name: a\n    recipients: [KEY]\n    tags: {aws:x: y}\n", "tag-key-reserved", "m.yaml:5:12"},
		{"tag value", "version: 1\ndevices:\n  - name: a\n    recipients: [KEY]\n    tags: {k: \"a;b\"}\n", "tag-value-pattern", "m.yaml:5:15"},
		{"outfile escape", "version: 1\ndevices:\n  - name: a\n    outfile: ../a.age\n    recipients: [KEY]\n", "outfile-escape", "m.yaml:4:14"},
		{"outfile unique", "version: 1\ndefaults: {outfile: same.age, recipients: [KEY]}\ndevices:\n  - name: a\n  - name: b\n", "outfile-unique", "m.yaml:2:21"},
		{"no devices", "version: 1\n", "devices-missing", "m.yaml:1:1"},
		{"not utf8", "version: 1\ndevices: [\xff]\n", "file-encoding", "m.yaml:2:11"},
		{"comments only", "# nothing\n", "file-empty", "m.yaml:1:1"},
		{"two documents", "version: 1\ndevices: []\n---\nversion: 1\n", "yaml-multi-document", "m.yaml:3:1"},
		{"no version", "devices: []\n", "version", "m.yaml:1:1"},
		{"devices not a list", "version: 1\ndevices: {name: a}\n", "yaml-type", "m.yaml:2:10"},
		{"null name", "version: 1\ndevices:\n  - name:\n    recipients: [KEY]\n", "yaml-type", "m.yaml:3:10"},
		{"no name", "version: 1\ndevices:\n  - path: /\n    recipients: [KEY]\n", "name-required", "m.yaml:3:5"},
		{"name too long", "version: 1\ndevices:\n  - name: " + strings.Repeat("a", 227) + "\n    recipients: [KEY]\n", "name-length", "m.yaml:3:11"},
		{"name listed twice", "version: 1\ndefaults: {recipients: [KEY]}\ndevices:\n  - name: a\n  - name: a\n", "name-unique", "m.yaml:5:11"},
		{"path too long", "version: 1\ndevices:\n  - name: a\n    path: /" + strings.Repeat("a", 512) + "/\n    recipients: [KEY]\n", "path-length", "m.yaml:4:11"},
		{"path with space", "version: 1\ndevices:\n  - name: a\n    path: /a b/\n    recipients: [KEY]\n", "path-pattern", "m.yaml:4:11"},
		{"default path", "version: 1\ndefaults: {path: nope, recipients: [KEY]}\ndevices:\n  - name: a\n", "path-pattern", "m.yaml:2:18"},
		{"too many tags", "version: 1\ndevices:\n  - name: a\n    recipients: [KEY]\n    tags: {" + manyTags(51) + "}\n", "tags-count", "m.yaml:3:11"},
		{"tag key too long", "version: 1\ndevices:\n  - name: a\n    recipients: [KEY]\n    tags: {" + strings.Repeat("k", 129) + ": v}\n", "tag-key-length", "m.yaml:5:12"},
		{"tag key chars", "version: 1\ndevices:\n  - name: a\n    recipients: [KEY]\n    tags: {\"a*b\": v}\n", "tag-key-pattern", "m.yaml:5:12"},
		{"tag value too long", "version: 1\ndevices:\n  - name: a\n    recipients: [KEY]\n    tags: {k: " + strings.Repeat("v", 257) + "}\n", "tag-value-length", "m.yaml:5:15"},
		{"tag key repeated", "version: 1\ndevices:\n  - name: a\n    recipients: [KEY]\n    tags: {k: a, k: b}\n", "tag-key-unique", "m.yaml:5:18"},
		{"tag key case", "version: 1\ndefaults: {tags: {Team: a}}\ndevices:\n  - name: a\n    recipients: [KEY]\n    tags: {team: b}\n", "tag-key-unique", "m.yaml:6:12"},
		{"AWS tag", "version: 1\ndevices:\n  - name: a\n    recipients: [KEY]\n    tags: {AWS:x: y}\n", "tag-key-reserved", "m.yaml:5:12"},
		{"bad ssh key", "version: 1\ndevices:\n  - name: a\n    recipients: [\"ssh-ed25519 AAAAnope\"]\n", "recipient", "m.yaml:4:18"},
		{"unknown key type", "version: 1\ndevices:\n  - name: a\n    recipients: [pgp:123]\n", "recipient", "m.yaml:4:18"},
		{"missing recipients file", "version: 1\ndevices:\n  - name: a\n    recipientsFiles: [nope.txt]\n", "recipients-file", "m.yaml:4:23"},
		{"outfile template syntax", "version: 1\ndevices:\n  - name: a\n    outfile: \"{{.Name\"\n    recipients: [KEY]\n", "outfile-template", "m.yaml:4:14"},
		{"outfile template field", "version: 1\ndevices:\n  - name: a\n    outfile: \"{{.User}}\"\n    recipients: [KEY]\n", "outfile-template", "m.yaml:4:14"},
		{"outfile absolute", "version: 1\ndevices:\n  - name: a\n    outfile: /tmp/a.age\n    recipients: [KEY]\n", "outfile-escape", "m.yaml:4:14"},
		{"scope path", "version: 1\nscope: {paths: [nope]}\ndevices: []\n", "path-pattern", "m.yaml:2:17"},
		{"outside scope", "version: 1\nscope: {paths: [/q4/]}\ndevices:\n  - name: a\n    recipients: [KEY]\n", "scope", "m.yaml:4:11"},
		{"scope typo", "version: 1\nscope: {path: [/q4/]}\ndevices: []\n", "yaml-unknown-field", "m.yaml:2:9"},
		{"outfile is a journal", "version: 1\ndevices:\n  - name: a\n    outfile: out/.bob.png.age.intent\n    recipients: [KEY]\n", "outfile-reserved", "m.yaml:4:14"},
		{"outfile is a temp file", "version: 1\ndevices:\n  - name: a\n    outfile: out/.bob.png.age.tmp-123\n    recipients: [KEY]\n", "outfile-reserved", "m.yaml:4:14"},
		{"outfile is moved aside", "version: 1\ndevices:\n  - name: a\n    outfile: out/bob.png.age.replaced-20260101T000000Z\n    recipients: [KEY]\n", "outfile-reserved", "m.yaml:4:14"},
		{"outfile hidden template", "version: 1\ndefaults: {outfile: \".{{.Name}}\", recipients: [KEY]}\ndevices:\n  - name: a\n", "outfile-reserved", "m.yaml:2:21"},
		{"outfile name too long", "version: 1\ndevices:\n  - name: a\n    outfile: out/" + strings.Repeat("a", 236) + "\n    recipients: [KEY]\n", "outfile-length", "m.yaml:4:14"},
		{"account pattern", "account: \"12345\"\nversion: 1\ndevices:\n  - name: a\n    recipients: [KEY]\n", "account", "m.yaml:1:10"},
		{"user pattern", "version: 1\ndevices:\n  - name: a\n    user: 'b c'\n    recipients: [KEY]\n", "user-pattern", "m.yaml:4:11"},
		{"user too long", "version: 1\ndevices:\n  - name: a\n    user: " + strings.Repeat("u", 65) + "\n    recipients: [KEY]\n", "user-length", "m.yaml:4:11"},
		{"user template", "version: 1\ndefaults: {user: \"{{.Nam}}\", recipients: [KEY]}\ndevices:\n  - name: a\n", "user-template", "m.yaml:2:18"},
		{"mfabulk tag", "version: 1\ndevices:\n  - name: a\n    recipients: [KEY]\n    tags: {mfabulk:create-id: x}\n", "tag-key-reserved", "m.yaml:5:12"},
		{"MfaBulk tag in defaults", "version: 1\ndefaults: {tags: {MfaBulk:team: x}}\ndevices:\n  - name: a\n    recipients: [KEY]\n", "tag-key-reserved", "m.yaml:2:19"},
		{"too many default tags", "version: 1\ndefaults:\n  recipients: [KEY]\n  tags: {" + manyTags(51) + "}\ndevices:\n  - name: a\n", "tags-count", "m.yaml:4:9"},
		{"recipients file absolute", "version: 1\ndevices:\n  - name: a\n    recipientsFiles: [/etc/passwd]\n", "recipients-file", "m.yaml:4:23"},
		{"recipients file up", "version: 1\ndevices:\n  - name: a\n    recipientsFiles: [../keys.txt]\n", "recipients-file", "m.yaml:4:23"},
		{"recipients file down and up", "version: 1\ndefaults: {recipientsFiles: [a/../keys.txt]}\ndevices:\n  - name: a\n", "recipients-file", "m.yaml:2:30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ds := parse(t, tt.src)
			for _, d := range ds {
				if d.Rule == tt.rule && d.Pos.String() == tt.pos {
					return
				}
			}
			t.Errorf("want %s at %s; got:\n%v", tt.rule, tt.pos, ds)
		})
	}
}

func TestAllProblemsReported(t *testing.T) {
	_, ds := parse(t, "version: 1\ndevices:\n  - name: a b\n    recipients: [KEY]\n  - name: c\n    path: x\n    recipients: [nope]\n")
	if len(ds) != 3 {
		t.Fatalf("got %d diagnostics, want 3:\n%v", len(ds), ds)
	}
}

func manyTags(n int) string {
	var parts []string
	for i := range n {
		parts = append(parts, fmt.Sprintf("k%d: v", i))
	}
	return strings.Join(parts, ", ")
}

func TestRecipientsFromFilesAndSSH(t *testing.T) {
	dir := t.TempDir()
	const ssh = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN"
	os.WriteFile(filepath.Join(dir, "keys.txt"), []byte("# team keys\n\n"+key1+"\n"+ssh+" someone@host\n"), 0o644)
	m, err := Parse("m.yaml", dir, []byte("version: 1\ndefaults:\n  recipients: ["+key1+"]\ndevices:\n  - name: a\n    recipientsFiles: [keys.txt]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Devices[0].Recipients; len(got) != 2 || got[0] != key1 || !strings.HasPrefix(got[1], "ssh-ed25519 ") {
		t.Errorf("recipients = %q, want the age key once and the SSH key", got)
	}
	os.WriteFile(filepath.Join(dir, "bad.txt"), []byte(key1+"\nage1bad\n"), 0o644)
	_, err = Parse("m.yaml", dir, []byte("version: 1\ndevices:\n  - name: a\n    recipientsFiles: [bad.txt]\n"))
	if err == nil || !strings.Contains(err.Error(), "m.yaml:4:23: recipients file bad.txt, line 2: invalid age X25519 recipient") {
		t.Errorf("bad key in a file: %v", err)
	}
}

func TestOutfileSymlinkEscape(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	os.Symlink(outside, filepath.Join(dir, "out"))
	_, err := Parse("m.yaml", dir, []byte("version: 1\ndevices:\n  - name: a\n    recipients: ["+key1+"]\n"))
	if err == nil || !strings.Contains(err.Error(), "through a symbolic link") {
		t.Errorf("symlink escape: %v", err)
	}
}

func TestFileTooLarge(t *testing.T) {
	_, ds := parse(t, "version: 1\n"+strings.Repeat("#", MaxFileSize))
	if len(ds) != 1 || ds[0].Rule != "file-size" {
		t.Errorf("got %v", ds)
	}
}

func TestAliasBombIsRefusedQuickly(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 30; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	b.WriteString("devices: *a29\n")
	_, ds := parse(t, b.String())
	found := false
	for _, d := range ds {
		found = found || d.Rule == "yaml-alias"
	}
	if !found {
		t.Errorf("alias bomb not refused: %v", ds)
	}
}

// TestDefaultsCheckedOnce: a problem in defaults is reported once, at
// defaults, not once per device (10,000 devices would print 10,000 lines),
// and 5,000 default tags are refused before being merged anywhere.
func TestDefaultsCheckedOnce(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\ndefaults:\n  path: nope\n  bootstrap: SMS\n  outfile: \"{{.User}}\"\n  recipients: [KEY, age1nope]\n  tags: {aws:x: y, Team: a, team: b, " + manyTags(5000) + "}\ndevices:\n")
	for i := range 2000 {
		fmt.Fprintf(&b, "- {name: d%d}\n", i)
	}
	_, ds := parse(t, b.String())
	rules := map[string]int{}
	for _, d := range ds {
		rules[d.Rule]++
	}
	for _, rule := range []string{"path-pattern", "bootstrap", "outfile-template", "recipient", "tag-key-reserved", "tag-key-unique", "tags-count"} {
		if rules[rule] != 1 {
			t.Errorf("rule %s reported %d times, want once", rule, rules[rule])
		}
	}
	if len(ds) != 7 {
		t.Errorf("got %d diagnostics, want 7:\n%v", len(ds), ds)
	}
}

// TestSharedWithDefaults: devices that add nothing share the defaults'
// recipients and tags rather than a copy each; devices that add the same
// recipients share one list.
func TestSharedWithDefaults(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "keys.txt"), []byte(key1+"\n"), 0o644)
	m, err := Parse("m.yaml", dir, []byte("version: 1\ndefaults:\n  recipientsFiles: [keys.txt]\n  tags: {a: b}\ndevices:\n  - name: a\n  - name: b\n  - name: c\n    recipientsFiles: [./keys.txt]\n    recipients: [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN\"]\n  - name: d\n    recipientsFiles: [keys.txt]\n    recipients: [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN\"]\n    tags: {c: d}\n"))
	if err != nil {
		t.Fatal(err)
	}
	a, b, c, d := m.Devices[0], m.Devices[1], m.Devices[2], m.Devices[3]
	if &a.Recipients[0] != &b.Recipients[0] || &c.Recipients[0] != &d.Recipients[0] || len(c.Recipients) != 2 {
		t.Errorf("recipient lists not shared: %q %q %q %q", a.Recipients, b.Recipients, c.Recipients, d.Recipients)
	}
	if reflect.ValueOf(a.Tags).UnsafePointer() != reflect.ValueOf(b.Tags).UnsafePointer() || len(d.Tags) != 2 || len(a.Tags) != 1 {
		t.Errorf("tags: %v %v %v", a.Tags, b.Tags, d.Tags)
	}
}

// TestRecipientsCountBounded: distinct recipient lists are bounded in
// all, so that 40,000 devices each adding a key to a 1,000-key team file
// cannot take 40 million entries.
func TestRecipientsCountBounded(t *testing.T) {
	defer func(n int) { maxRecipientEntries = n }(maxRecipientEntries)
	maxRecipientEntries = 3
	ssh := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN"
	_, ds := parse(t, "version: 1\ndefaults: {recipients: [KEY]}\ndevices:\n  - {name: a, recipients: [\""+ssh+"\"]}\n  - {name: b, recipients: [\""+ssh+" b\"]}\n  - {name: c, recipients: [\""+ssh+" c\"]}\n")
	if len(ds) != 1 || ds[0].Rule != "recipients-count" || ds[0].Pos.String() != "m.yaml:5:12" {
		t.Errorf("got %v", ds)
	}
}

// TestTooManyProblems: diagnostics are bounded, the rest counted.
func TestTooManyProblems(t *testing.T) {
	_, ds := parse(t, "version: 1\ndevices: ["+strings.Repeat("x, ", 5000)+"]\n")
	if len(ds) != maxDiagnostics+1 || ds[len(ds)-1].Rule != "too-many-problems" || !strings.HasPrefix(ds[len(ds)-1].Message, "4000 more problem(s) not listed") {
		t.Errorf("got %d diagnostics, last %v", len(ds), ds[len(ds)-1])
	}
}

// TestRecipientErrorsQuoteNothing: what did not parse as a recipient may
// be anything (a line of someone's credentials file), so seal's errors
// never quote it, whatever the age and agessh parsers would say.
func TestRecipientErrorsQuoteNothing(t *testing.T) {
	for _, s := range []string{
		"AKIAIOSFODNN7EXAMPLE", "age1AKIAIOSFODNN7EXAMPLE", "age1akiaiosfodnn7example",
		"ssh-ed25519 AKIAIOSFODNN7EXAMPLE", "ssh-rsa AKIAIOSFODNN7EXAMPLE", "ssh-AKIAIOSFODNN7EXAMPLE",
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+AKIAIOSFODNN7EXAMPLE",
	} {
		_, err := seal.ParseRecipient(s)
		if err == nil || strings.Contains(strings.ToLower(err.Error()), "akiaiosfodnn") {
			t.Errorf("ParseRecipient(%q): %v", s, err)
		}
	}
}

// A device's user comes from the device, else from the defaults, where it
// may be a template of the device's fields.
func TestUser(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "m.yaml"), []byte("version: 1\ndefaults:\n  user: \"{{.Name}}\"\n  recipients: ["+key1+"]\ndevices:\n  - name: alice\n  - name: bob\n    user: robert\n"), 0o600)
	m, err := Load(filepath.Join(dir, "m.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Devices[0].User != "alice" || m.Devices[1].User != "robert" {
		t.Errorf("users %q, %q", m.Devices[0].User, m.Devices[1].User)
	}
}

// TestRecipientsFileTilde: "~" is the shell's home folder, which a manifest
// never means: a recipients file is relative to the manifest's folder. It
// is refused with a message saying so, not looked for as a folder named ~.
func TestRecipientsFileTilde(t *testing.T) {
	for _, p := range []string{"~/keys.txt", "~alice/keys.txt", "~"} {
		_, ds := parse(t, "version: 1\ndevices:\n  - name: a\n    recipientsFiles: [\""+p+"\"]\n")
		if len(ds) != 1 || ds[0].Rule != "recipients-file" || ds[0].Pos.String() != "m.yaml:4:23" ||
			!strings.Contains(ds[0].Message, "\"~\" is not expanded") || !strings.Contains(ds[0].Message, "relative to the manifest's folder") {
			t.Errorf("%s: got %v", p, ds)
		}
	}
}
