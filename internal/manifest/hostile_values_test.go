package manifest

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// hostile is every kind of character that moves a terminal's cursor,
// ends a line or reorders text: ESC, CR, U+202E (right-to-left override),
// U+2028 (line separator), written as YAML escapes.
const hostile = `\e[2K\r\u202e\L`

// TestHostileValuesEscaped: a manifest's values are written into its
// problems escaped, as Go quotes a string: whatever a name, path,
// bootstrap, user, tag key, role, account, field or recipients file
// holds, no problem line holds a control character, a bidi control or a
// line separator.
func TestHostileValuesEscaped(t *testing.T) {
	h := hostile
	src := `version: "1` + h + `"
account: "1` + h + `"
role: "arn:aws:iam::111111111111:role/` + h + `"
scope: {paths: ["/s/"]}
defaults:
  recipientsFiles: ["r` + h + `.txt"]
  "x` + h + `": 1
devices:
  - name: "a` + h + `"
    path: "/p` + h + `/"
    bootstrap: "Q` + h + `"
    user: "u` + h + `"
    outfile: "o` + h + `{{.Name}}"
    recipients: ["age1` + h + `"]
    tags: {"k` + h + `": v, "K` + h + `": "v` + h + `", "t` + h + `": [x]}
  - name: b
    path: "/a` + h + `/b/"
    user: "{{.Name}}` + h + `"
    outfile: "{{.Path}}{{.Name}}"
  - name: c
    role: x
    outfile: ["` + h + `"]
`
	ds, _ := parseIn(t, src)
	if len(ds) < 15 {
		t.Fatalf("want a problem for each hostile value; got:\n%v", ds)
	}
	for _, d := range ds {
		if bad, ok := rawCharacter(d.String()); ok {
			t.Errorf("%s holds %U raw: %q", d.Rule, bad, d.String())
		}
	}
	for _, rule := range []string{"version", "account", "role", "yaml-unknown-field", "recipients-file", "name-pattern", "path-pattern", "bootstrap", "user-pattern", "outfile-pattern", "recipient", "tag-key-pattern", "tag-key-unique", "yaml-type", "scope"} {
		found := false
		for _, d := range ds {
			found = found || d.Rule == rule
		}
		if !found {
			t.Errorf("no %s problem; got:\n%v", rule, ds)
		}
	}
}

// rawCharacter is the first character of s that a terminal or a Markdown
// view would act on rather than show.
func rawCharacter(s string) (rune, bool) {
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == 0x202e || r == 0x2028 || r == 0x2029 {
			return r, true
		}
	}
	return 0, false
}

// TestQuote: quote cuts a long value without splitting a character, then
// escapes what does not print.
func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                       `"plain"`,
		"a\x1b[2Kb\r":                 `"a\x1b[2Kb\r"`,
		"\u202eabc\u2028":             `"\u202eabc\u2028"`,
		strings.Repeat("é", 30):       `"` + strings.Repeat("é", 20) + `…"`,
		strings.Repeat("\x1b", 50):    `"` + strings.Repeat(`\x1b`, 40) + `…"`,
		strings.Repeat("a", 39) + "é": `"` + strings.Repeat("a", 39) + `…"`,
	} {
		if got := quote(in); got != want || !utf8.ValidString(got) {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestOutfilePatternBlank: characters that print as nothing or as
// another (spaces other than the ASCII space, private-use characters,
// noncharacters) are refused in an outfile and in a user, named by their
// code point; the ASCII space stays allowed in an outfile.
func TestOutfilePatternBlank(t *testing.T) {
	for _, r := range []string{`\u00a0`, `\u2000`, `\u3000`, `\ue000`, `\ufffe`, `\U000f0000`, `\u0378`} {
		code := "U+" + strings.ToUpper(strings.TrimLeft(r[2:], "0"))
		if len(code) < 6 {
			code = "U+" + strings.Repeat("0", 6-len(code)) + code[2:]
		}
		for rule, src := range map[string]string{
			"outfile-pattern": "version: 1\ndevices:\n  - name: a\n    outfile: \"out/{{.Name}}" + r + ".age\"\n    recipients: [KEY]\n",
			"user-pattern":    "version: 1\ndevices:\n  - name: a\n    user: \"{{.Name}}" + r + "\"\n    recipients: [KEY]\n",
		} {
			_, ds := parse(t, src)
			if len(ds) != 1 || ds[0].Rule != rule || !strings.Contains(ds[0].Message, code) {
				t.Errorf("%s in %s: want %s naming %s; got:\n%v", r, rule, rule, code, ds)
			}
		}
	}
	if _, ds := parse(t, "version: 1\ndevices:\n  - name: a\n    outfile: \"out/{{.Name}} copy.age\"\n    recipients: [KEY]\n"); len(ds) != 0 {
		t.Errorf("an ASCII space in an outfile: %v", ds)
	}
}

// TestRolePartitions: a role ARN names one of AWS's partitions, not a
// made-up aws-anything.
func TestRolePartitions(t *testing.T) {
	for _, p := range []string{"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"} {
		if _, err := ParseRoleTemplate("arn:" + p + ":iam::{{.Account}}:role/a"); err != nil {
			t.Errorf("partition %s: %v", p, err)
		}
	}
	for _, p := range []string{"aws-evil", "aws-cn-x", "aws-iso-z", "aws-a-b-c", "aws-us-gov-x"} {
		if _, err := ParseRoleTemplate("arn:" + p + ":iam::{{.Account}}:role/a"); err == nil {
			t.Errorf("partition %s accepted in a role template", p)
		}
		if _, ds := parse(t, "version: 1\nrole: arn:"+p+":iam::111111111111:role/a\ndevices:\n  - name: a\n    recipients: [KEY]\n"); len(ds) != 1 || ds[0].Rule != "role" {
			t.Errorf("partition %s in role: want a role problem; got:\n%v", p, ds)
		}
	}
}
