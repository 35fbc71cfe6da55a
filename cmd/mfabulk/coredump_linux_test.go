package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
)

// TestNoCoreDumpOfSeeds aborts an apply mid-run with GOTRACEBACK=crash
// (the Go runtime then ends by SIGABRT, which dumps core) and a core file
// size limit of "unlimited" inherited, as after `ulimit -c unlimited`.
//
// Two things keep the seeds in its memory off disk, and each is checked on
// its own, from outside, while it runs: the core file size limit, which it
// sets to 0 (soft and hard) at start, read from /proc/PID/limits; and the
// dumpable flag, which only the process itself can read with prctl, but
// which shows in /proc: the files of a process that is not dumpable are
// owned by root (proc(5), task_dump_owner in fs/proc/base.c). So the child runs as nobody, and /proc/PID
// must be root's. Then the abort: the kernel's core-dump bit in the wait
// status (set for core files and core_pattern pipes alike) must be clear,
// and no core file may be in its working folder.
func TestNoCoreDumpOfSeeds(t *testing.T) {
	s := newScenario(t, iamlocal.Options{Faults: iamlocal.Faults{Latency: 100 * time.Millisecond}}, 12)
	const nobody = 65534
	// The child runs as nobody: it needs to run a copy of this binary and
	// to write in the scenario's folder.
	bin := filepath.Join(t.TempDir(), "mfabulk")
	exe, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{filepath.Dir(bin), filepath.Dir(filepath.Dir(bin)), filepath.Dir(s.dir)} {
		os.Chmod(dir, 0o755)
	}
	// Its own folder, as mfabulk requires of outfile folders (not one that
	// others can write).
	os.Chown(s.dir, nobody, nobody)

	cmd := exec.Command(bin, "apply", "-f", "m.yaml", "--auto-approve", "--parallelism", "2")
	cmd.Env = append(os.Environ(), "MFABULK_TEST_AS_MAIN=1", "GOTRACEBACK=crash", "HOME="+s.dir, "XDG_CONFIG_HOME="+s.dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out := new(syncBuffer)
	cmd.Stdout, cmd.Stderr = out, out
	// The child inherits "ulimit -c unlimited" (as far as the hard limit
	// allows) from the test.
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &old); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: old.Max, Max: old.Max}); err != nil {
		t.Fatal(err)
	}
	err = cmd.Start()
	unix.Setrlimit(unix.RLIMIT_CORE, &old)
	if err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid

	// Mid-run: creates have answered, so seeds have been in its memory.
	if !waitFor(20*time.Second, func() bool { return len(s.srv.Issued()) >= 2 }) {
		cmd.Process.Kill()
		t.Fatalf("apply created nothing:\n%s", out.String())
	}
	if soft, hard := coreLimit(t, pid); soft != "0" || hard != "0" {
		t.Errorf("apply runs with a core file size limit of %s (hard %s), want 0", soft, hard)
	}
	// Not /proc/PID itself: the kernel exempts that folder, so that ps
	// can read a process's user from it.
	fi, err := os.Stat("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != 0 {
		t.Errorf("/proc/%d/status of an apply running as uid %d is owned by uid %d: the process is dumpable", pid, nobody, uid)
	}

	cmd.Process.Signal(syscall.SIGABRT)
	_, _ = waitExit(t, cmd, 30*time.Second)
	s.record([]byte(out.String()))
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGABRT {
		t.Fatalf("apply did not die of SIGABRT (%v):\n%s", ws, lastLines(out.String(), 5))
	}
	if ws.CoreDump() {
		t.Errorf("the kernel dumped core of an apply holding seeds")
	}
	pattern, _ := os.ReadFile("/proc/sys/kernel/core_pattern")
	if p := strings.TrimSpace(string(pattern)); p != "" && !strings.HasPrefix(p, "|") && !strings.HasPrefix(p, "/") {
		name := strings.SplitN(p, "%", 2)[0]
		if m, _ := filepath.Glob(filepath.Join(s.dir, name+"*")); len(m) > 0 {
			t.Errorf("core files in the working folder: %v", m)
		}
	}
	t.Logf("aborted mid-run after %d creates: core dumped: %v (core_pattern %q)", len(s.srv.Issued()), ws.CoreDump(), strings.TrimSpace(string(pattern)))
	s.leakScan()
}

// coreLimit reads a process's "Max core file size" from /proc.
func coreLimit(t *testing.T, pid int) (soft, hard string) {
	t.Helper()
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Max core file size"); ok {
			fields := strings.Fields(rest)
			if len(fields) >= 2 {
				return fields[0], fields[1]
			}
		}
	}
	t.Fatalf("no core file size in /proc/%d/limits", pid)
	return "", ""
}
