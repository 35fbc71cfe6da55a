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

// A saved plan made with --allow-deactivate shows it at the prompt, and
// with -f it is refused unless the command line names it too: whoever
// wrote the file chose to take a person's MFA away.
func TestApplySavedPlanNamesAllowDeactivate(t *testing.T) {
	srv := startLocal(t)
	if err := srv.CreateDevice("kept", "/q4/"); err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateUser("kim", "/"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Assign("kept", "kim"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile("m.yaml", []byte("version: 1\nscope: {paths: [/q4/]}\ndefaults: {path: /q4/, recipients: [age1rx5zrrd45u7mmgrrpjr5j2utf3fs7m7gl7twncerl5d96cmm53fs9avgcs]}\ndevices:\n  - name: alice\n"), 0o644)
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"plan", "-f", "m.yaml", "--prune", "--allow-deactivate", "--out", "plan.json"}, IO{Out: &out, Err: &errOut}); code != 0 {
		t.Fatalf("plan --out exited %d: %s", code, errOut.String())
	}
	out.Reset()
	streams := IO{In: strings.NewReader("no\n"), Out: &out, Err: &errOut, InTTY: true, OutTTY: true}
	if code := run(context.Background(), []string{"apply", "plan.json"}, streams); code != exitError {
		t.Fatalf("answered no: exit %d", code)
	}
	if !strings.Contains(out.String(), "with options --prune --allow-deactivate\n") {
		t.Errorf("the prompt does not show --allow-deactivate:\n%s", out.String())
	}
	errOut.Reset()
	if code := run(context.Background(), []string{"apply", "plan.json", "-f", "m.yaml", "--prune", "--auto-approve"}, IO{Out: &out, Err: &errOut}); code != exitError {
		t.Fatalf("apply without --allow-deactivate exited %d", code)
	}
	if !strings.Contains(errOut.String(), "was made with --allow-deactivate, which the command line does not name") {
		t.Errorf("stderr:\n%s", errOut.String())
	}
	if d, ok := srv.Device("kept"); !ok || d.User != "kim" || srv.Requests()["DeactivateMFADevice"] != 0 {
		t.Errorf("kept: %v %+v, %d deactivations", ok, d, srv.Requests()["DeactivateMFADevice"])
	}
}
