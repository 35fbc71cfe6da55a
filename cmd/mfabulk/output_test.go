package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal/localtest"
)

// startLocal runs iamlocal for one in-process test.
func startLocal(t *testing.T) *iamlocal.Server {
	t.Helper()
	srv, _ := localtest.Start(t, iamlocal.Options{})
	t.Chdir(t.TempDir())
	return srv
}

const testKey = "age1rx5zrrd45u7mmgrrpjr5j2utf3fs7m7gl7twncerl5d96cmm53fs9avgcs"

// TestColourOnlyOnATerminal: escape codes on a terminal, none in a pipe,
// none with NO_COLOR; and apply's progress bar only on a terminal.
func TestColourOnlyOnATerminal(t *testing.T) {
	startLocal(t)
	os.WriteFile("m.yaml", []byte("version: 1\ndevices:\n  - {name: a, recipients: ["+testKey+"]}\n  - {name: b, recipients: ["+testKey+"]}\n"), 0o644)
	runWith := func(tty bool, args ...string) string {
		var out bytes.Buffer
		run(context.Background(), args, IO{In: strings.NewReader(""), Out: &out, Err: &out, OutTTY: tty})
		return out.String()
	}
	if out := runWith(true, "plan", "-f", "m.yaml"); !strings.Contains(out, "\x1b[32m  + create") {
		t.Errorf("no colour on a terminal:\n%q", out)
	}
	if out := runWith(false, "plan", "-f", "m.yaml"); strings.Contains(out, "\x1b[") {
		t.Errorf("colour in a pipe:\n%q", out)
	}
	t.Setenv("NO_COLOR", "1")
	if out := runWith(true, "plan", "-f", "m.yaml"); strings.Contains(out, "\x1b[") {
		t.Errorf("colour despite NO_COLOR:\n%q", out)
	}
	out := runWith(true, "apply", "-f", "m.yaml", "--auto-approve")
	if !strings.Contains(out, "\r\x1b[K[") || !strings.Contains(out, "2/2, 0 failed") {
		t.Errorf("no progress bar on a terminal:\n%q", out)
	}
}

// TestNoOpReconciliationOf1000Devices is the cron job's case: an account
// that already matches a 1000-device manifest with managed tags gets only
// read calls, and plan prints one line. With -short, 200 devices (one
// page of the device list all the same).
func TestNoOpReconciliationOf1000Devices(t *testing.T) {
	n := sample(1000, 200)
	srv := startLocal(t)
	var m strings.Builder
	fmt.Fprintf(&m, "version: 1\ndefaults: {path: /cron/, recipients: [%s], tags: {cohort: q4}}\ndevices:\n", testKey)
	for i := range n {
		fmt.Fprintf(&m, "  - name: u%04d\n", i)
	}
	os.WriteFile("m.yaml", []byte(m.String()), 0o644)
	var first bytes.Buffer
	if code := run(context.Background(), []string{"apply", "-f", "m.yaml", "--auto-approve"}, IO{In: strings.NewReader(""), Out: &first, Err: &first}); code != 0 {
		t.Fatalf("first apply exited %d:\n%s", code, lastLines(first.String(), 5))
	}
	before := srv.Requests()
	for _, cmd := range [][]string{{"plan", "-f", "m.yaml", "--detailed-exitcode"}, {"apply", "-f", "m.yaml", "--auto-approve"}} {
		var out bytes.Buffer
		code := run(context.Background(), cmd, IO{In: strings.NewReader(""), Out: &out, Err: &out})
		if code != 0 || strings.Count(out.String(), "\n") != 1 {
			t.Errorf("%s exited %d, printed:\n%s", cmd[0], code, out.String())
		}
	}
	reqs := srv.Requests()
	for a, n := range before {
		reqs[a] -= n
		if reqs[a] == 0 {
			delete(reqs, a)
		}
	}
	t.Logf("requests for a no-op plan + apply of %d devices: %v", n, reqs)
	for action, n := range reqs {
		if !strings.HasPrefix(action, "List") && !strings.HasPrefix(action, "Get") {
			t.Errorf("%d %s calls in a no-op reconciliation", n, action)
		}
	}
	if reqs["ListVirtualMFADevices"] != 2 || reqs["ListMFADeviceTags"] != 2*n || reqs["GetCallerIdentity"] != 2 {
		t.Errorf("requests: %v", reqs)
	}
}
