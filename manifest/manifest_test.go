package manifest

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
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
		{"syntax", "version: 1\ndevices: [\n", "yaml-syntax", "m.yaml:2:1"},
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
