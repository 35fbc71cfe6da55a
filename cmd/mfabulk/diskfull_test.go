package main

import (
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
	s := newScenario(t, iamlocal.Options{}, 30)
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

	out, code := s.mfabulk("apply", "-f", "m.yaml", "--auto-approve")
	if code != 1 || !strings.Contains(out, "no space left on device") {
		t.Fatalf("apply on a full disk exited %d:\n%s", code, lastLines(out, 20))
	}
	rolledBack := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "  d") && strings.Contains(line, "was deleted again") {
			rolledBack++ // one summary line a device
		}
	}
	created := len(s.srv.Devices())
	t.Logf("disk full: %d devices created with durable outfiles, %d rolled back, %d never created",
		created, rolledBack, 30-created-rolledBack)
	for _, d := range s.srv.Devices() {
		s.checkOutfile(d)
	}
	plan, _ := s.mfabulk("plan", "-f", "m.yaml")
	if !strings.Contains(plan, " 0 to replace") {
		t.Errorf("a device was left with its seed lost:\n%s", plan)
	}

	if out, err := exec.Command("mount", "-o", "remount,size=1m", s.dir+"/out").CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	s.converge(1)
	s.checkDurable()
	s.leakScan()
}
