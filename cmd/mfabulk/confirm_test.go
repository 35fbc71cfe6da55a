package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// TestApplyAsksOnATerminal runs apply in-process with a terminal on stdin:
// only "yes" goes ahead.
func TestApplyAsksOnATerminal(t *testing.T) {
	for _, tt := range []struct {
		answer  string
		code    int
		created int
	}{
		{"no\n", exitError, 0},
		{"", exitError, 0},
		{"yes\n", exitOK, 1},
	} {
		srv := startLocal(t)
		os.WriteFile("m.yaml", []byte("version: 1\ndevices:\n  - name: alice\n    recipients: [age1rx5zrrd45u7mmgrrpjr5j2utf3fs7m7gl7twncerl5d96cmm53fs9avgcs]\n"), 0o644)

		var out, errOut bytes.Buffer
		streams := IO{In: strings.NewReader(tt.answer), Out: &out, Err: &errOut, InTTY: true, OutTTY: true}
		code := run(context.Background(), []string{"apply", "-f", "m.yaml"}, streams)
		if code != tt.code || len(srv.Devices()) != tt.created {
			t.Errorf("answer %q: exit %d with %d devices, want %d with %d\n%s%s", tt.answer, code, len(srv.Devices()), tt.code, tt.created, out.String(), errOut.String())
		}
		if !strings.Contains(out.String(), "Only 'yes' will be accepted") {
			t.Errorf("answer %q: no prompt shown:\n%s", tt.answer, out.String())
		}
	}
}
