package manifest

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// A template here is data, not a program: literal text with {{.Field}}
// (or {{ .Field }}) where a field's value goes, and nothing else.
//
// Outfiles, users and roles used to be rendered with text/template, which
// is a programming language: {{range 100000}}{{range 100000}}{{end}}{{end}}
// in a manifest, ./mfabulk.yaml or MFABULK_ROLE ran until killed or out of
// memory, and {{if eq .Account "…"}} made a role template expand one way
// for the account it was checked against and another for the real ones.
// A substitution has no branch and no loop: its text is bounded
// ([maxTemplateLen]), it is read once, and it expands in time and space
// linear in the text and the values, the same way for every value.
type template struct {
	parts  []templatePart
	fields []string // the fields it was parsed against, in the order of Expand's values
}

// templatePart is a run of literal text, or a field (field >= 0, an
// index into the template's fields).
type templatePart struct {
	lit   string
	field int
}

// maxTemplateLen bounds a template's text: far above any real outfile,
// user or role, far below anything slow.
const maxTemplateLen = 4096

// Fields of the templates: what each may name.
var (
	deviceTemplateFields = []string{"Name", "Path", "Bootstrap", "Ext"}
	roleTemplateFields   = []string{"Account"}
)

// parseTemplate reads text as literal runs and {{.Field}} substitutions
// of the given fields. Anything else between {{ and }} (an action such as
// if or range, a function, a pipeline, a variable, a comment, a {{- trim
// marker, an unknown field) and a {{ left open are errors naming what was
// found, where (the character's number in the text, from 1), and the
// fields allowed.
func parseTemplate(text string, fields []string) (*template, error) {
	if len(text) > maxTemplateLen {
		return nil, fmt.Errorf("template is %d bytes long; at most %d", len(text), maxTemplateLen)
	}
	t := &template{fields: fields}
	rest, off := text, 0
	for rest != "" {
		i := strings.Index(rest, "{{")
		if i < 0 {
			t.parts = append(t.parts, templatePart{lit: rest, field: -1})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, templatePart{lit: rest[:i], field: -1})
		}
		at := off + i
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("%q at character %d is never closed with \"}}\"; %s", short(rest[i:]), charAt(text, at), allowed(fields))
		}
		inner := rest[i+2 : i+2+j]
		f := fieldIndex(strings.Trim(inner, " "), fields)
		if f < 0 {
			return nil, fmt.Errorf("%q at character %d is not a field substitution; %s", short("{{"+inner+"}}"), charAt(text, at), allowed(fields))
		}
		t.parts = append(t.parts, templatePart{field: f})
		rest, off = rest[i+2+j+2:], at+2+j+2
	}
	return t, nil
}

// fieldIndex is the index in fields of s, written ".Field"; -1 when s is
// anything else.
func fieldIndex(s string, fields []string) int {
	name, ok := strings.CutPrefix(s, ".")
	if !ok {
		return -1
	}
	for i, f := range fields {
		if name == f {
			return i
		}
	}
	return -1
}

// allowed names the fields a template may use, for a message.
func allowed(fields []string) string {
	s := make([]string, len(fields))
	for i, f := range fields {
		s[i] = "{{." + f + "}}"
	}
	if len(s) == 1 {
		return "only " + s[0] + " is allowed (a template is text with field substitutions, no actions or functions)"
	}
	return "only " + strings.Join(s, " ") + " are allowed (a template is text with field substitutions, no actions or functions)"
}

// charAt is the number, from 1, of the character at byte offset off of s.
func charAt(s string, off int) int {
	return utf8.RuneCountInString(s[:off]) + 1
}

// expand puts values, one per field in the order given to parseTemplate,
// where the fields go. A template of a few kilobytes that names a long
// field many times would make a value hundreds of times its size, so the
// result is bounded: when it would be longer than limit bytes, expand
// builds nothing and returns its would-be length with ok false.
func (t *template) expand(limit int, values ...string) (s string, n int, ok bool) {
	if n = t.length(values); n > limit {
		return "", n, false
	}
	var b strings.Builder
	b.Grow(n)
	for _, p := range t.parts {
		if p.field < 0 {
			b.WriteString(p.lit)
		} else {
			b.WriteString(values[p.field])
		}
	}
	return b.String(), n, true
}

// length is the length of the template's expansion, without building it:
// at most maxTemplateLen parts of values each bounded by the manifest, so
// the sum does not overflow.
func (t *template) length(values []string) int {
	n := 0
	for _, p := range t.parts {
		if p.field < 0 {
			n += len(p.lit)
		} else {
			n += len(values[p.field])
		}
	}
	return n
}
