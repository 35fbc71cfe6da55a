package manifest

import (
	"strings"
	"testing"
)

// TestTemplateGrammar: {{.Field}} and {{ .Field }} of the allowed fields,
// and nothing else.
func TestTemplateGrammar(t *testing.T) {
	for _, tt := range []struct{ text, want, err string }{
		{"out/{{.Name}}{{.Ext}}.age", "out/alice.png.age", ""},
		{"{{ .Path }}{{.Bootstrap}}", "/p/QRCodePNG", ""},
		{"a}}b{c", "a}}b{c", ""},
		{"", "", ""},
		{"{{.Name", "", `"{{.Name" at character 1 is never closed`},
		{"x{{.User}}", "", `"{{.User}}" at character 2 is not a field substitution; only {{.Name}} {{.Path}} {{.Bootstrap}} {{.Ext}} are allowed`},
		{"{{- .Name}}", "", `"{{- .Name}}" at character 1`},
		{"{{.Name -}}", "", `"{{.Name -}}"`},
		{"{{/* c */}}", "", `"{{/* c */}}"`},
		{"{{$x := 1}}", "", `"{{$x := 1}}"`},
		{"{{.Name | printf \"%s\"}}", "", `is not a field substitution`},
		{"{{printf \"%s\" .Name}}", "", `is not a field substitution`},
		{"{{.name}}", "", `"{{.name}}"`},
		{"{{.}}", "", `"{{.}}"`},
		{"é{{if .Name}}", "", `"{{if .Name}}" at character 2`},
		{strings.Repeat("a", maxTemplateLen+1), "", "at most 4096"},
	} {
		tmpl, err := parseTemplate(tt.text, deviceTemplateFields)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("parseTemplate(%q) = %v", tt.text, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("parseTemplate(%q) = %v, want %q", tt.text, err, tt.err)
		case err == nil:
			if got, _, _ := tmpl.expand(maxOutfileLen, "alice", "/p/", "QRCodePNG", ".png"); got != tt.want {
				t.Errorf("expand(%q) = %q, want %q", tt.text, got, tt.want)
			}
		}
	}
}

// TestLoadChecksEachAccountsRole: when a role template makes no role ARN
// in an account (here one built without ParseRoleTemplate's probes), the
// account's manifest has a role problem at its account:, rather than a
// run with the base credentials or another account's role.
func TestLoadChecksEachAccountsRole(t *testing.T) {
	const text = "arn:aws:iam::000000000000:role/{{.Account}}"
	tmpl, err := parseTemplate(text, roleTemplateFields)
	if err != nil {
		t.Fatal(err)
	}
	dir := writeManifests(t, map[string]string{
		"a.yaml": "version: 1\naccount: \"111111111111\"\ndevices:\n  - name: alice\n    recipients: [KEY]\n",
	})
	_, err = LoadAccounts(LoadOptions{RoleTemplate: RoleTemplate{tmpl, text}}, dir)
	got := strings.Join(diagsOf(t, err), "\n")
	if want := `a.yaml:2:10 role: role template "` + text + `" does not make a role ARN with {{.Account}} as its account`; !strings.Contains(got, want) {
		t.Errorf("got:\n%s\nwant %s", got, want)
	}
}
