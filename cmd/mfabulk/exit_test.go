package main

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/mfabulk/mfabulk/internal/apply"
	"github.com/mfabulk/mfabulk/internal/manifest"
)

// An error can quote a file name, a YAML value or an AWS answer: the error
// printer escapes every control character in it, while mfabulk's own
// messages of one problem a line keep their lines.
func TestErrorPrinterEscapesValues(t *testing.T) {
	diags := manifest.Diagnostics{
		{Pos: manifest.Pos{File: "m\x1b[2K.yaml", Line: 1, Col: 2}, Message: "device name \"bob\x1b]8;;https://evil.example/\x1b\\\" is bad\r\nmfabulk: hint: forged"},
		{Pos: manifest.Pos{File: "m.yaml", Line: 3, Col: 4}, Message: "outfile \"a\u202eb\""},
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("reading manifest: stat x\x1b[2K.yaml: %w", errors.New("no such file")),
			"mfabulk: error: reading manifest: stat x\\x1b[2K.yaml: no such file\n"},
		{errors.New("AWS said: \x1b[1A\x1b[2Kall good\ndone"),
			"mfabulk: error: AWS said: \\x1b[1A\\x1b[2Kall good\\ndone\n"},
		{fmt.Errorf("loading: %w", diags),
			"mfabulk: error: loading: m\\x1b[2K.yaml:1:2: device name \"bob\\x1b]8;;https://evil.example/\\x1b\\\" is bad\\r\\nmfabulk: hint: forged\nm.yaml:3:4: outfile \"a\\u202eb\"\n"},
		{&apply.PreflightError{Problems: []error{errors.New("folder o\x1b[2K is unsafe"), errors.New("second")}},
			"mfabulk: error: 2 problem(s) found before any change was made: folder o\\x1b[2K is unsafe\nsecond\n" +
				"mfabulk: hint: nothing was created; fix the problems above and run apply again\n"},
		{withHint(errors.New("bad"), "rename %s", "x\x1b[2K"),
			"mfabulk: error: bad\nmfabulk: hint: rename x\\x1b[2K\n"},
	} {
		var b bytes.Buffer
		exitCode(c.err, IO{Err: &b})
		if b.String() != c.want {
			t.Errorf("printed\n%q\nwant\n%q", b.String(), c.want)
		}
	}
}
