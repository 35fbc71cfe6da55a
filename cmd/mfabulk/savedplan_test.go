package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// TestApplySavedPlanAsksOnATerminal: a saved plan applied without -f shows,
// on a terminal, the manifests it names (escaped) and goes ahead only on
// "yes".
func TestApplySavedPlanAsksOnATerminal(t *testing.T) {
	for _, tt := range []struct {
		answer  string
		code    int
		created int
	}{
		{"no\n", exitError, 0},
		{"yes\n", exitOK, 1},
	} {
		srv := startLocal(t)
		const name = "m\x1b[2J.yaml"
		os.WriteFile(name, []byte("version: 1\ndevices:\n  - name: alice\n    recipients: [age1rx5zrrd45u7mmgrrpjr5j2utf3fs7m7gl7twncerl5d96cmm53fs9avgcs]\n"), 0o644)
		var out, errOut bytes.Buffer
		if code := run(context.Background(), []string{"plan", "-f", name, "--out", "plan.json"}, IO{Out: &out, Err: &errOut}); code != 0 {
			t.Fatalf("plan --out exited %d: %s", code, errOut.String())
		}
		out.Reset()
		errOut.Reset()
		streams := IO{In: strings.NewReader(tt.answer), Out: &out, Err: &errOut, InTTY: true, OutTTY: true}
		code := run(context.Background(), []string{"apply", "plan.json"}, streams)
		if code != tt.code || len(srv.Devices()) != tt.created {
			t.Errorf("answer %q: exit %d with %d devices, want %d with %d\n%s%s", tt.answer, code, len(srv.Devices()), tt.code, tt.created, out.String(), errOut.String())
		}
		if !strings.Contains(out.String(), "these manifests:\n  'm\\x1b[2J.yaml'\n") || !strings.Contains(out.String(), "Only 'yes' will be accepted") {
			t.Errorf("answer %q: the manifests and the prompt are not shown, escaped:\n%q", tt.answer, out.String())
		}
	}
}
