//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// peakRSSOf makes cmd report its own peak RSS, returning a function that
// reads it (KiB) once cmd has ended. os/exec starts a child with vfork,
// sharing the test process's memory until exec, and Linux carries the
// larger high-water mark across exec into the child's own: after in-process
// tests had the test binary (under -race) at 358 MiB, a plan bounded to
// 200 MiB reported 358 MiB. So the child runs under GNU time, which forks
// it from its own small image and reports the child's peak alone (where
// there is no /usr/bin/time, the inherited figure is what there is).
func peakRSSOf(t *testing.T, cmd *exec.Cmd) func() int64 {
	t.Helper()
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		if os.Getenv("MFABULK_REQUIRE_TOOLS") != "" {
			t.Fatal("/usr/bin/time (GNU time) is needed to measure a child's own peak RSS")
		}
		return func() int64 {
			if cmd.ProcessState == nil {
				return 0
			}
			return rusageMaxRSS(cmd.ProcessState)
		}
	}
	out := filepath.Join(t.TempDir(), "rss")
	cmd.Args = append([]string{"/usr/bin/time", "-f", "%M", "-o", out, cmd.Path}, cmd.Args[1:]...)
	cmd.Path = "/usr/bin/time"
	return func() int64 {
		b, err := os.ReadFile(out)
		if err != nil {
			t.Errorf("reading the peak RSS GNU time wrote: %v", err)
			return 0
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		kib, err := strconv.ParseInt(lines[len(lines)-1], 10, 64)
		if err != nil {
			t.Errorf("GNU time wrote %q, not a peak RSS", b)
		}
		return kib
	}
}

// rusageMaxRSS is the peak RSS (KiB on Linux) wait4 reported for ps.
func rusageMaxRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return int64(ru.Maxrss)
	}
	return 0
}
