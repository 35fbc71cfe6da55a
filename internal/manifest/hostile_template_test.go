package manifest

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// nestedRange ran 10^10 iterations under text/template.
const nestedRange = "{{range 100000}}{{range 100000}}{{end}}{{end}}"

// within runs check in a goroutine and fails the test if it takes more
// than ten seconds: a template that runs as a program, or a check that
// grows without bound, fails the test rather than hanging it.
func within(t *testing.T, check func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- check() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("still running after 10s: the manifest's check is unbounded (a template run as a program, an outfile built or climbed without bound)")
		return nil
	}
}

// TestTemplatesAreData: a loop in an outfile, user or role template is
// refused at once, as any action is, naming what was found and the
// fields allowed; it never runs.
func TestTemplatesAreData(t *testing.T) {
	for _, tt := range []struct {
		name, src, rule string
	}{
		{"outfile", "version: 1\ndevices:\n  - name: a\n    outfile: \"" + nestedRange + "\"\n    recipients: [KEY]\n", "outfile-template"},
		{"user", "version: 1\ndefaults: {user: \"{{.Name}}" + nestedRange + "\", recipients: [KEY]}\ndevices:\n  - name: a\n", "user-template"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ds Diagnostics
			err := within(t, func() error {
				_, err := Parse("m.yaml", t.TempDir(), []byte(strings.ReplaceAll(tt.src, "KEY", key1)))
				return err
			})
			if !errors.As(err, &ds) {
				t.Fatalf("Parse = %v, want Diagnostics", err)
			}
			for _, d := range ds {
				if d.Rule == tt.rule && strings.Contains(d.Message, `"{{range 100000}}"`) && strings.Contains(d.Message, "{{.Name}} {{.Path}} {{.Bootstrap}} {{.Ext}}") {
					return
				}
			}
			t.Errorf("want %s naming {{range 100000}} and the fields; got:\n%v", tt.rule, ds)
		})
	}
	t.Run("role", func(t *testing.T) {
		err := within(t, func() error {
			_, err := ParseRoleTemplate("arn:aws:iam::{{.Account}}:role/x" + nestedRange)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), `"{{range 100000}}"`) {
			t.Errorf("ParseRoleTemplate = %v, want an error naming {{range 100000}}", err)
		}
	})
}

// TestRoleTemplateCannotBranch: a role template that would expand one
// way for the account it is checked against and another way for the
// real ones is refused.
func TestRoleTemplateCannotBranch(t *testing.T) {
	for _, text := range []string{
		`arn:aws:iam::{{if eq .Account "111111111111"}}222222222222{{else}}{{.Account}}{{end}}:role/mfabulk`,
		`arn:aws:iam::{{.Account}}:role/{{if eq .Account "111111111111"}}admin{{else}}mfabulk{{end}}`,
		`arn:aws:iam::{{ .Account | printf "%s" }}:role/mfabulk`,
	} {
		if _, err := ParseRoleTemplate(text); err == nil || !strings.Contains(err.Error(), "only {{.Account}} is allowed") {
			t.Errorf("ParseRoleTemplate(%q) = %v, want it refused", text, err)
		}
	}
}

// TestRoleTemplateEveryExpansionChecked: what a role template makes for
// each account is checked, not only for a probe: a role ARN, in that
// account, with a known partition and a valid path and name.
func TestRoleTemplateEveryExpansionChecked(t *testing.T) {
	// Its account is a literal that equals the old single probe.
	if _, err := ParseRoleTemplate("arn:aws:iam::000000000000:role/{{.Account}}"); err == nil {
		t.Errorf("a template whose account is not {{.Account}} was accepted")
	}
	rt, err := ParseRoleTemplate("arn:aws:iam::{{.Account}}:role/mfabulk")
	if err != nil {
		t.Fatal(err)
	}
	if arn, err := rt.Expand("111111111111"); err != nil || arn != "arn:aws:iam::111111111111:role/mfabulk" {
		t.Errorf("Expand(111111111111) = %q, %v", arn, err)
	}
	for _, account := range []string{"1111", "11111111111a", "111111111111:role/x#", "", "111111111111\r"} {
		if arn, err := rt.Expand(account); err == nil || !strings.Contains(err.Error(), "does not make a role ARN") {
			t.Errorf("Expand(%q) = %q, %v; want it refused", account, arn, err)
		}
	}
	for text, ok := range map[string]bool{
		"arn:aws-cn:iam::{{.Account}}:role/a":                       true,
		"arn:aws-us-gov:iam::{{.Account}}:role/ops/a":               true,
		"arn:aws-iso-b:iam::{{.Account}}:role/a":                    true,
		"arn:awsx:iam::{{.Account}}:role/a":                         false,
		"arn:aws-:iam::{{.Account}}:role/a":                         false,
		"arn:aws:iam::{{.Account}}:role/a b":                        false,
		"arn:aws:iam::{{.Account}}:role//a":                         false,
		"arn:aws:iam::{{.Account}}:role/" + strings.Repeat("a", 65): false,
		"arn:aws:iam::{{.Account}}:role/a\u202e":                    false,
	} {
		if _, err := ParseRoleTemplate(text); (err == nil) != ok {
			t.Errorf("ParseRoleTemplate(%q) = %v, want ok %v", text, err, ok)
		}
	}
}

// TestOutfilePattern: control, format and separator characters are
// refused in an outfile template, and in a user, at the value's place.
func TestOutfilePattern(t *testing.T) {
	for _, tt := range []struct{ name, src, rule, pos, char string }{
		{"CR", "version: 1\ndevices:\n  - name: a\n    outfile: \"out/{{.Name}}\\r- sealed to ESCROW\"\n    recipients: [KEY]\n", "outfile-pattern", "m.yaml:4:14", "U+000D"},
		{"ESC", "version: 1\ndevices:\n  - name: a\n    outfile: \"out/\\e[2K{{.Name}}\"\n    recipients: [KEY]\n", "outfile-pattern", "m.yaml:4:14", "U+001B"},
		{"NEL", "version: 1\ndevices:\n  - name: a\n    outfile: \"out/\\N{{.Name}}\"\n    recipients: [KEY]\n", "outfile-pattern", "m.yaml:4:14", "U+0085"},
		{"RLO", "version: 1\ndevices:\n  - name: a\n    outfile: \"out/\u202e{{.Name}}\"\n    recipients: [KEY]\n", "outfile-pattern", "m.yaml:4:14", "U+202E"},
		{"ZWJ in defaults", "version: 1\ndefaults: {outfile: \"out/\u200d{{.Name}}\", recipients: [KEY]}\ndevices:\n  - name: a\n", "outfile-pattern", "m.yaml:2:21", "U+200D"},
		{"LS", "version: 1\ndevices:\n  - name: a\n    outfile: \"out/\\L{{.Name}}\"\n    recipients: [KEY]\n", "outfile-pattern", "m.yaml:4:14", "U+2028"},
		{"PS", "version: 1\ndevices:\n  - name: a\n    outfile: \"out/\\P{{.Name}}\"\n    recipients: [KEY]\n", "outfile-pattern", "m.yaml:4:14", "U+2029"},
		{"DEL", "version: 1\ndevices:\n  - name: a\n    outfile: \"out/\\x7f{{.Name}}\"\n    recipients: [KEY]\n", "outfile-pattern", "m.yaml:4:14", "U+007F"},
		{"user CR", "version: 1\ndevices:\n  - name: a\n    user: \"{{.Name}}\\r\"\n    recipients: [KEY]\n", "user-pattern", "m.yaml:4:11", "U+000D"},
		{"user BOM", "version: 1\ndefaults: {user: \"\ufeff{{.Name}}\", recipients: [KEY]}\ndevices:\n  - name: a\n", "user-pattern", "m.yaml:2:18", "U+FEFF"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, ds := parse(t, tt.src)
			for _, d := range ds {
				if d.Rule == tt.rule && d.Pos.String() == tt.pos && strings.Contains(d.Message, tt.char) {
					if strings.ContainsAny(d.Message, "\r\x1b\u0085\u202e\u200d\u2028\u2029\x7f\ufeff") {
						t.Errorf("the message holds the character raw: %q", d.Message)
					}
					return
				}
			}
			t.Errorf("want %s naming %s at %s; got:\n%v", tt.rule, tt.char, tt.pos, ds)
		})
	}
	// Names and paths are already held to IAM's patterns.
	for _, tt := range []struct{ src, rule string }{
		{"version: 1\ndevices:\n  - name: \"a\\rb\"\n    recipients: [KEY]\n", "name-pattern"},
		{"version: 1\ndevices:\n  - name: \"a\u202eb\"\n    recipients: [KEY]\n", "name-pattern"},
		{"version: 1\ndevices:\n  - name: a\n    path: \"/a\\rb/\"\n    recipients: [KEY]\n", "path-pattern"},
		{"version: 1\ndevices:\n  - name: a\n    path: \"/a\u2028b/\"\n    recipients: [KEY]\n", "path-pattern"},
	} {
		_, ds := parse(t, tt.src)
		found := false
		for _, d := range ds {
			found = found || d.Rule == tt.rule
		}
		if !found {
			t.Errorf("%q: want %s; got:\n%v", tt.src, tt.rule, ds)
		}
	}
}
