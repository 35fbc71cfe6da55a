package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeManifests writes name → body (KEY replaced by a recipient) into a
// new folder and returns it.
func writeManifests(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.ReplaceAll(body, "KEY", key1)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func diagsOf(t *testing.T, err error) []string {
	t.Helper()
	var ds Diagnostics
	if !errors.As(err, &ds) {
		t.Fatalf("err = %v, want Diagnostics", err)
	}
	var out []string
	for _, d := range ds {
		out = append(out, filepath.Base(d.File)+":"+strings.TrimPrefix(d.Pos.String(), d.File+":")+" "+d.Rule+": "+d.Message)
	}
	return out
}

// TestLoadAccountsGroups: manifests group by account (from account: or a
// role's ARN), in the order of each account's first file; a name may be
// used once per account; the role template fills in roles.
func TestLoadAccountsGroups(t *testing.T) {
	dir := writeManifests(t, map[string]string{
		"a1.yaml": "version: 1\naccount: \"111111111111\"\ndevices:\n  - name: alice\n    recipients: [KEY]\n    outfile: a/{{.Name}}.age\n",
		"a2.yaml": "version: 1\nrole:\n  arn: arn:aws:iam::222222222222:role/mfabulk\n  externalId: xyz\n  duration: 2h\ndevices:\n  - name: alice\n    recipients: [KEY]\n    outfile: b/{{.Name}}.age\n",
		"a3.yaml": "version: 1\naccount: \"111111111111\"\ndevices:\n  - name: bob\n    recipients: [KEY]\n    outfile: a/{{.Name}}.age\n",
	})
	rt, err := ParseRoleTemplate("arn:aws:iam::{{.Account}}:role/base")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := LoadAccounts(LoadOptions{RoleTemplate: rt}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Account != "111111111111" || ms[1].Account != "222222222222" {
		t.Fatalf("got %d accounts, want 111111111111 then 222222222222", len(ms))
	}
	if n := len(ms[0].Devices); n != 2 || len(ms[0].Files) != 2 {
		t.Errorf("account 1: %d devices from %d files, want 2 from 2", n, len(ms[0].Files))
	}
	if r := ms[0].Role; r == nil || r.ARN != "arn:aws:iam::111111111111:role/base" {
		t.Errorf("account 1's role = %+v, want the template's", r)
	}
	if r := ms[1].Role; r == nil || r.ExternalID != "xyz" || r.Duration != 2*time.Hour || r.Account() != "222222222222" {
		t.Errorf("account 2's role = %+v, want the manifest's", r)
	}
	// Load, for one account, still refuses them.
	if got := diagsOf(t, loadErr(Load(dir))); len(got) != 1 || !strings.Contains(got[0], "a2.yaml:3:3 account: account 222222222222 differs") {
		t.Errorf("Load: %q", got)
	}
}

func loadErr(_ *Manifest, err error) error { return err }

// TestLoadAccountsProblems: each problem of several accounts at its
// file:line:col.
func TestLoadAccountsProblems(t *testing.T) {
	dir := writeManifests(t, map[string]string{
		"a.yaml": "version: 1\naccount: \"111111111111\"\nrole: arn:aws:iam::111111111111:role/one\ndevices:\n  - name: alice\n    recipients: [KEY]\n    outfile: a/{{.Name}}.age\n  - name: Alice\n    recipients: [KEY]\n    outfile: a/x.age\n",
		"b.yaml": "version: 1\naccount: \"111111111111\"\nrole: arn:aws:iam::111111111111:role/two\ndevices:\n  - name: alice\n    recipients: [KEY]\n    outfile: b/{{.Name}}.age\n",
		"c.yaml": "version: 1\naccount: \"222222222222\"\nrole:\n  arn: arn:aws:iam::333333333333:role/x\n  duration: 13h\n  sessionName: \"a b\"\ndevices:\n  - name: carol\n    recipients: [KEY]\n    outfile: a/alice.age\n",
		"d.yaml": "version: 1\ndevices:\n  - name: dave\n    recipients: [KEY]\n    outfile: d/{{.Name}}.age\n",
	})
	_, err := LoadAccounts(LoadOptions{}, dir)
	got := strings.Join(diagsOf(t, err), "\n")
	for _, want := range []string{
		"a.yaml:8:11 name-unique: device \"Alice\" is the same IAM name as \"alice\" at line 5",
		"b.yaml:3:7 role: role differs from the role of account 111111111111 given at " + filepath.Join(dir, "a.yaml") + ":3:7",
		"b.yaml:5:11 name-unique: device \"alice\" is listed twice (first at " + filepath.Join(dir, "a.yaml") + ":5:11)",
		"c.yaml:4:3 role: role arn:aws:iam::333333333333:role/x is in account 333333333333, but account: says 222222222222",
		"c.yaml:5:13 role: role.duration \"13h\" must be between 15m and 12h",
		"c.yaml:6:16 role: role.sessionName \"a b\" must be",
		"c.yaml:10:14 outfile-unique",
		"d.yaml:1:1 account: manifest says no account, but the others are for accounts 111111111111, 222222222222",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

// TestRoleTemplate: only {{.Account}}, and a role ARN once it is put in.
func TestRoleTemplate(t *testing.T) {
	for text, want := range map[string]string{
		"arn:aws:iam::{{.Account}}:role/mfabulk":   "",
		"arn:aws:iam::{{.Account}:role/mfabulk":    "parsing role template",
		"arn:aws:iam::{{.Acount}}:role/mfabulk":    "is not a field substitution; only {{.Account}} is allowed",
		"arn:aws:iam::111111111111:role/mfabulk":   "does not make a role ARN with {{.Account}}",
		"arn:aws:iam::{{.Account}}:user/mfabulk":   "does not make a role ARN",
		"arn:aws:iam::{{.Account}}:role/a/mfabulk": "",
	} {
		_, err := ParseRoleTemplate(text)
		if (err == nil) != (want == "") || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("ParseRoleTemplate(%q) = %v, want %q", text, err, want)
		}
	}
}
