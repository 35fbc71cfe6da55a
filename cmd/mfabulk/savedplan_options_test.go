package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// Without -f, on a terminal, the prompt shows a saved plan's options with
// its manifests: whoever answers "yes" sees that it prunes.
func TestApplySavedPlanPromptShowsOptions(t *testing.T) {
	srv := startLocal(t)
	os.WriteFile("m.yaml", []byte("version: 1\nscope: {paths: [/q4/]}\ndefaults: {path: /q4/, recipients: [age1rx5zrrd45u7mmgrrpjr5j2utf3fs7m7gl7twncerl5d96cmm53fs9avgcs]}\ndevices:\n  - name: alice\n"), 0o644)
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"plan", "-f", "m.yaml", "--prune", "--out", "plan.json"}, IO{Out: &out, Err: &errOut}); code != 0 {
		t.Fatalf("plan --out exited %d: %s", code, errOut.String())
	}
	out.Reset()
	streams := IO{In: strings.NewReader("no\n"), Out: &out, Err: &errOut, InTTY: true, OutTTY: true}
	if code := run(context.Background(), []string{"apply", "plan.json"}, streams); code != exitError || len(srv.Devices()) != 0 {
		t.Fatalf("answered no: exit %d, %d devices", code, len(srv.Devices()))
	}
	if !strings.Contains(out.String(), "these manifests:\n  m.yaml\nwith options --prune\n") {
		t.Errorf("the prompt does not show --prune:\n%s", out.String())
	}
}
