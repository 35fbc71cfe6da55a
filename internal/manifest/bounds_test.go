package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// parseIn parses src (KEY replaced by a recipient) as m.yaml in a folder
// that holds recipients.txt, within ten seconds, and returns its problems
// and how long it took.
func parseIn(t *testing.T, src string) (Diagnostics, time.Duration) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "recipients.txt"), []byte(key1+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := within(t, func() error {
		_, err := Parse("m.yaml", dir, []byte(strings.ReplaceAll(src, "KEY", key1)))
		return err
	})
	took := time.Since(start)
	var ds Diagnostics
	if err != nil && !errors.As(err, &ds) {
		t.Fatalf("Parse: %v is not Diagnostics", err)
	}
	return ds, took
}

// TestOutfileBounded: a template of 4 KB that names {{.Path}} (511
// bytes) 408 times would render an outfile of 209 KB and 105,000
// folders, each climbed for symbolic links; it is refused, as
// outfile-length, without being built, at once.
func TestOutfileBounded(t *testing.T) {
	src := "version: 1\ndefaults: {recipientsFiles: [recipients.txt], path: \"/" + strings.Repeat("a/", 255) +
		"\", outfile: \"{{.Name}}" + strings.Repeat("x{{.Path}}", 408) + "\"}\ndevices:\n  - name: a\n  - name: b\n  - name: c\n"
	ds, took := parseIn(t, src)
	n := 0
	for _, d := range ds {
		if d.Rule == "outfile-length" && d.Pos.String() == "m.yaml:2:577" && strings.Contains(d.Message, "at most 4096") {
			n++
		}
	}
	t.Logf("checked in %v", took) // logged, not asserted: see TestDeepOutfileQuick
	if n != 3 {
		t.Errorf("want outfile-length at most 4096 for each of 3 devices, at once; got:\n%v", ds)
	}
}

// TestOutfileElementBounded: a folder or file name of the outfile longer
// than a file system allows (255 bytes) is outfile-length, whatever its
// place.
func TestOutfileElementBounded(t *testing.T) {
	long := strings.Repeat("f", 256)
	for _, outfile := range []string{long + "/{{.Name}}.age", "out/" + long + "/{{.Name}}", "out/{{.Name}}{{.Name}}/x"} {
		src := "version: 1\ndevices:\n  - name: " + strings.Repeat("n", 200) + "\n    outfile: \"" + outfile + "\"\n    recipients: [KEY]\n"
		_, ds := parse(t, src)
		if len(ds) != 1 || ds[0].Rule != "outfile-length" || !strings.Contains(ds[0].Message, "at most 255") {
			t.Errorf("outfile %.40q…: want one outfile-length, at most 255; got:\n%v", outfile, ds)
		}
	}
}

// TestDeepOutfileQuick: an outfile just inside the bounds, 2,000 folders
// deep, is checked for symbolic links in one walk per device, not in one
// walk per folder on the way back up (2,000 × 4 KB per device).
func TestDeepOutfileQuick(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\ndefaults: {recipientsFiles: [recipients.txt], outfile: \"{{.Name}}/" + strings.Repeat("a/", 2000) + "x\"}\ndevices:\n")
	for i := range 300 {
		b.WriteString("  - name: d" + strconv.Itoa(i) + "\n")
	}
	ds, took := parseIn(t, b.String())
	// The time is logged, not asserted: on a shared machine running the
	// test shards side by side a bound of seconds fails by itself (2.56 s
	// in CI); one walk per folder would take minutes.
	t.Logf("300 devices 2,000 folders deep checked in %v", took)
	if len(ds) != 0 {
		t.Errorf("want 300 deep outfiles valid, at once; got:\n%v", ds)
	}
}

// TestUserBounded: a user template is expanded only as far as IAM's limit
// on a user name (64): longer is user-length, with its length, not its
// text.
func TestUserBounded(t *testing.T) {
	src := "version: 1\ndefaults: {recipientsFiles: [recipients.txt], path: \"/" + strings.Repeat("a/", 255) +
		"\", user: \"{{.Name}}" + strings.Repeat("{{.Path}}", 400) + "\"}\ndevices:\n  - name: a\n"
	ds, _ := parseIn(t, src)
	if len(ds) != 1 || ds[0].Rule != "user-length" || !strings.Contains(ds[0].Message, "would be 204401 characters long; IAM allows at most 64") {
		t.Errorf("want user-length, would be 204401 characters; got:\n%v", ds)
	}
}
