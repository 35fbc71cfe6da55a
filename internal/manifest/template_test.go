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
			if got := tmpl.expand("alice", "/p/", "QRCodePNG", ".png"); got != tt.want {
				t.Errorf("expand(%q) = %q, want %q", tt.text, got, tt.want)
			}
		}
	}
}
