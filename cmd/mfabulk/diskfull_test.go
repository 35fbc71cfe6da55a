package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
)

// TestDiskFull puts the outfiles on a 40 KiB tmpfs, which fills up a few
// devices into the run: writes fail with ENOSPC, and every device either
// has a durable outfile or was never created or was rolled back. With room
// again, a re-run converges.
func TestDiskFull(t *testing.T) {
	const n = 30
	s := newScenario(t, iamlocal.Options{}, n)
	if err := os.Mkdir("out", 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=40k", "tmpfs", "out").CombinedOutput(); err != nil {
		msg := "SKIPPING: cannot mount a tmpfs (needs root): " + strings.TrimSpace(string(out))
		if os.Getenv("MFABULK_REQUIRE_TOOLS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() { exec.Command("umount", s.dir+"/out").Run() })

	// The report is written next to the manifest, off the full tmpfs.
	out, code := s.mfabulk("apply", "-f", "m.yaml", "--auto-approve", "--report", "report.json")
	if code != 1 || !strings.Contains(out, "no space left on device") {
		t.Fatalf("apply on a full disk exited %d:\n%s", code, lastLines(out, 20))
	}
	rolledBack := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "  d") && strings.Contains(line, "was deleted again") {
			rolledBack++ // one summary line a device
		}
	}

	// The report says, device by device, what became of it.
	data, err := os.ReadFile("report.json")
	if err != nil {
		t.Fatalf("apply on a full disk wrote no report: %v", err)
	}
	var report struct {
		Changes []struct{ Device, Outcome, Error string }
	}
	if err := json.Unmarshal(data, &report); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	outcome, errs, count := map[string]string{}, map[string]string{}, map[string]int{}
	for _, c := range report.Changes {
		outcome[c.Device], errs[c.Device] = c.Outcome, c.Error
		count[c.Outcome]++
		if c.Outcome == "seed-lost" {
			t.Errorf("report: %s is seed-lost: %s", c.Device, c.Error)
		}
	}
	if len(report.Changes) != n {
		t.Errorf("report lists %d changes, want %d: %v", len(report.Changes), n, count)
	}
	if count["rolled-back"] == 0 || rolledBack == 0 {
		t.Errorf("no device was rolled back on a full disk: %d summary lines say \"was deleted again\", report outcomes %v:\n%s",
			rolledBack, count, lastLines(out, 20))
	}
	if rolledBack != count["rolled-back"] {
		t.Errorf("%d summary lines say \"was deleted again\", the report has %d rolled back", rolledBack, count["rolled-back"])
	}

	// Every device in the account has an outfile that decrypts to its
	// secret (the report may still call it failed: its outfile was
	// written, but recording the outfile's create ID ran out of space);
	// no device the report calls rolled back is in the account.
	devs := s.srv.Devices()
	for _, d := range devs {
		switch outcome[d.Name] {
		case "rolled-back", "seed-lost", "":
			t.Errorf("device %s is in the account, but the report says %q: %s", d.Name, outcome[d.Name], errs[d.Name])
		}
		s.checkOutfile(d)
	}
	t.Logf("disk full: %d devices created with durable outfiles, %d rolled back, %d never created; report %v",
		len(devs), rolledBack, n-len(devs)-rolledBack, count)

	// No device was left with its seed lost: the next plan only creates
	// what is missing, and settles an outfile whose record the full disk
	// refused (the intent proves it the device's).
	actions := map[string]int{}
	for name, action := range s.planJSON() {
		verb, _, _ := strings.Cut(action, ":")
		actions[verb]++
		if verb != "create" && verb != "unchanged" && verb != "settle" {
			t.Errorf("plan after a full disk: %s: %s", name, action)
		}
	}
	if actions["create"] != n-len(devs) {
		t.Errorf("plan after a full disk with %d devices in the account proposes %v, want %d creates", len(devs), actions, n-len(devs))
	}

	if out, err := exec.Command("mount", "-o", "remount,size=1m", s.dir+"/out").CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	s.converge(1)
	s.checkDurable()
	s.leakScan()
}
