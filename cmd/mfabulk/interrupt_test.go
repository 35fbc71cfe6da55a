package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
)

// syncBuffer is a buffer a child process writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startChild starts the test binary as mfabulk with args, its output in
// the returned buffer.
func startChild(t *testing.T, args ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	return startChildEnv(t, nil, args...)
}

// startChildEnv is startChild with more environment variables.
func startChildEnv(t *testing.T, env []string, args ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := subprocess(args...)
	cmd.Env = append(cmd.Env, env...)
	out := new(syncBuffer)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, out
}

// waitFor polls cond every few milliseconds until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// waitExit waits for cmd at most d, killing it after that; it returns the
// exit code (-1 when it had to be killed or died of a signal) and how long
// it took.
func waitExit(t *testing.T, cmd *exec.Cmd, d time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), time.Since(start)
		}
		return 0, time.Since(start)
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
		t.Errorf("mfabulk %s did not exit within %v; killed", strings.Join(cmd.Args[1:], " "), d)
		return -1, time.Since(start)
	}
}

// diedOfSIGINT tells whether the finished cmd was ended by SIGINT's
// default action, that is before it could handle the signal.
func diedOfSIGINT(cmd *exec.Cmd) bool {
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGINT
}

// intents lists the intent files left in out/.
func intents() []string {
	m, _ := filepath.Glob(filepath.Join("out", ".*.intent"))
	return m
}

var notStartedRE = regexp.MustCompile(`(\d+) not started\.`)

// TestInterruptAtRandomMoments sends one SIGINT to apply subprocesses at
// seeded random moments. The first Ctrl-C is a soft stop: devices in
// flight finish and get their outfile, no further device starts (and so
// gets no intent), the summary says "interrupted", the exit code is 130,
// and the next apply converges. With -short, 3 of the 20 trials (the
// first 3 seeds and delays).
func TestInterruptAtRandomMoments(t *testing.T) {
	trials := sample(20, 3)
	rng := rand.New(rand.NewSource(9))
	var midRun, late, early, created, notStarted int
	for trial := range trials {
		t.Run(fmt.Sprint(trial), func(t *testing.T) {
			s := newScenario(t, iamlocal.Options{Faults: iamlocal.Faults{Seed: int64(trial), Latency: 100 * time.Millisecond, Jitter: 200 * time.Millisecond}}, 30)
			delay := 200*time.Millisecond + time.Duration(rng.Int63n(int64(2*time.Second)))
			cmd, out := startChild(t, "apply", "-f", "m.yaml", "--auto-approve", "--parallelism", "4")
			time.Sleep(delay)
			cmd.Process.Signal(syscall.SIGINT)
			code, _ := waitExit(t, cmd, 30*time.Second)
			s.record([]byte(out.String()))
			text := out.String()
			switch {
			case strings.Contains(text, "Interrupt received; finishing"):
				midRun++
				if code != exitInterrupted || !strings.Contains(text, "Apply interrupted: ") {
					t.Errorf("interrupted mid-run after %v: exit %d, want 130 and an interrupted summary:\n%s", delay, code, lastLines(text, 10))
				}
				if m := notStartedRE.FindStringSubmatch(text); m != nil {
					var n int
					fmt.Sscan(m[1], &n)
					notStarted += n
				}
				if n := strings.Count(text, "context canceled"); n > 0 {
					t.Errorf("%d calls were cancelled by the first Ctrl-C:\n%s", n, lastLines(text, 10))
				}
			case code == 0:
				late++ // the apply had finished
			case code == -1 && text == "" && diedOfSIGINT(cmd):
				// On a loaded machine the signal can come before the Go
				// runtime has started main, which installs the handler
				// before any other work: nothing was done, nothing to check.
				early++
			default:
				early++ // reading the account, which the first Ctrl-C cancels
				if code != exitInterrupted {
					t.Errorf("interrupted before apply after %v: exit %d, want 130:\n%s", delay, code, lastLines(text, 10))
				}
			}
			if left := intents(); len(left) > 0 {
				t.Errorf("a first Ctrl-C left %d intents (devices not started, or calls cut off): %v", len(left), left)
			}
			devs := s.srv.Devices()
			created += len(devs)
			for _, d := range devs {
				s.checkOutfile(d)
			}
			s.srv.SetFaults(iamlocal.Faults{})
			s.converge(2)
			s.checkDurable()
			s.leakScan()
			t.Logf("SIGINT after %v: exit %d, %d devices created; %s", delay, code, len(devs), lastLines(text, 1))
		})
	}
	t.Logf("%d trials: %d interrupted mid-run, %d before the first create, %d after the apply ended; %d devices created by the interrupted runs, %d not started",
		trials, midRun, early, late, created, notStarted)
}

// TestSecondInterruptStopsAtOnce interrupts an apply whose creates take 5
// seconds each, twice: the second Ctrl-C ends it at once, with 130, and
// the creates it abandoned are found by the next plan.
func TestSecondInterruptStopsAtOnce(t *testing.T) {
	s := newScenario(t, iamlocal.Options{Faults: iamlocal.Faults{Latency: 300 * time.Millisecond}}, 10)
	cmd, out := startChild(t, "apply", "-f", "m.yaml", "--auto-approve", "--parallelism", "4")
	// The plan reads with a short latency; every call after the list is slow.
	if !waitFor(10*time.Second, func() bool { return s.srv.Requests()["ListVirtualMFADevices"] > 0 }) {
		t.Fatalf("apply never listed the devices:\n%s", out.String())
	}
	s.srv.SetFaults(iamlocal.Faults{Latency: 5 * time.Second})
	if !waitFor(10*time.Second, func() bool { return s.srv.Requests()["CreateVirtualMFADevice"] >= 4 }) {
		t.Fatalf("apply never created:\n%s", out.String())
	}
	cmd.Process.Signal(syscall.SIGINT)
	if !waitFor(5*time.Second, func() bool { return strings.Contains(out.String(), "press Ctrl-C again") }) {
		t.Errorf("no word of the soft stop:\n%s", out.String())
	}
	start := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	code, _ := waitExit(t, cmd, 10*time.Second)
	took := time.Since(start)
	s.record([]byte(out.String()))
	t.Logf("second SIGINT: exit %d after %v with creates taking 5s:\n%s", code, took.Round(time.Millisecond), lastLines(out.String(), 8))
	if code != exitInterrupted {
		t.Errorf("exit %d, want 130", code)
	}
	if n := s.srv.Requests()["CreateVirtualMFADevice"]; n != 4 {
		t.Errorf("%d creates were started; want the 4 in flight at the interrupt", n)
	}
	// Let the abandoned creates commit, then plan finds them.
	time.Sleep(5500 * time.Millisecond)
	s.srv.SetFaults(iamlocal.Faults{})
	plan, _ := s.mfabulk("plan", "-f", "m.yaml")
	for _, d := range s.srv.Devices() {
		if !strings.Contains(plan, "/faults/"+d.Name+": seed lost") {
			t.Errorf("device %s was abandoned in flight and plan does not propose to replace it:\n%s", d.Name, plan)
		}
	}
	s.converge(2)
	s.checkDurable()
	s.leakScan()
}

// TestInterruptPlanStopsAtOnce: plan only reads, so Ctrl-C ends it at
// once, with 130.
func TestInterruptPlanStopsAtOnce(t *testing.T) {
	s := newScenario(t, iamlocal.Options{Faults: iamlocal.Faults{Latency: 5 * time.Second}}, 3)
	cmd, out := startChild(t, "plan", "-f", "m.yaml")
	if !waitFor(10*time.Second, func() bool { return len(s.srv.Requests()) > 0 }) {
		t.Fatalf("plan made no call:\n%s", out.String())
	}
	cmd.Process.Signal(syscall.SIGINT)
	code, took := waitExit(t, cmd, 10*time.Second)
	s.record([]byte(out.String()))
	if code != exitInterrupted || took > 3*time.Second {
		t.Errorf("plan exited %d after %v, want 130 at once:\n%s", code, took, out.String())
	}
	s.leakScan()
}

// TestInterruptAtThePrompt types Ctrl-C at apply's confirmation prompt on
// a real terminal: the terminal driver sends SIGINT, apply ends with 130
// at once, and no device is created.
func TestInterruptAtThePrompt(t *testing.T) {
	s := newScenario(t, iamlocal.Options{}, 3)
	cmd := subprocess("apply", "-f", "m.yaml")
	tty, err := pty.Start(cmd) // a new session, the pty its controlling terminal
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	out := new(syncBuffer)
	go func() { _, _ = io.Copy(out, tty) }()
	if !waitFor(10*time.Second, func() bool { return strings.Contains(out.String(), "Enter a value:") }) {
		t.Fatalf("no prompt:\n%s", out.String())
	}
	if _, err := tty.Write([]byte{0x03}); err != nil {
		t.Fatal(err)
	}
	code, took := waitExit(t, cmd, 10*time.Second)
	s.record([]byte(out.String()))
	t.Logf("Ctrl-C at the prompt: exit %d after %v", code, took.Round(time.Millisecond))
	if code != exitInterrupted {
		t.Errorf("exit %d, want 130:\n%s", code, out.String())
	}
	if n := s.srv.Requests()["CreateVirtualMFADevice"]; n != 0 {
		t.Errorf("%d creates after Ctrl-C at the prompt", n)
	}
	s.leakScan()
}

// TestDevNullIsNotATerminal runs apply as cron does, with /dev/null as
// standard input: it is a character device, but not a terminal, so apply
// refuses to ask instead of reading an empty answer.
func TestDevNullIsNotATerminal(t *testing.T) {
	s := newScenario(t, iamlocal.Options{}, 1)
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	cmd := subprocess("apply", "-f", "m.yaml")
	var out bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, &out, &out
	err = cmd.Run()
	s.record(out.Bytes())
	if !strings.Contains(out.String(), "mfabulk: error: apply needs confirmation, but standard input is not a terminal") || strings.Contains(out.String(), "Enter a value") {
		t.Errorf("apply </dev/null (%v):\n%s", err, out.String())
	}
	if n := s.srv.Requests()["CreateVirtualMFADevice"]; n != 0 {
		t.Errorf("%d creates", n)
	}
}
