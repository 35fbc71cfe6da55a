package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/reftools"
)

// withUsers makes every device of the scenario's manifest name its IAM
// user (defaults.user: "{{.Name}}") and creates those users.
func (s *scenario) withUsers() {
	s.t.Helper()
	m, err := os.ReadFile("m.yaml")
	if err != nil {
		s.t.Fatal(err)
	}
	m = bytes.Replace(m, []byte("defaults:\n"), []byte("defaults:\n  user: \"{{.Name}}\"\n"), 1)
	if err := os.WriteFile("m.yaml", m, 0o644); err != nil {
		s.t.Fatal(err)
	}
	for _, n := range s.names {
		if err := s.srv.CreateUser(n, "/"); err != nil {
			s.t.Fatal(err)
		}
	}
}

// checkAssigned: every device of the manifest is in the account, enabled
// for its user, with an outfile that decrypts to its live secret.
func (s *scenario) checkAssigned() {
	s.t.Helper()
	s.checkDurable()
	for _, n := range s.names {
		d, ok := s.srv.Device(n)
		if !ok || d.User != n {
			s.t.Errorf("device %s: in account %v, assigned to %q, want %q", n, ok, d.User, n)
		}
	}
}

// TestAssign300UnderFaults enables 300 devices for their users against
// an iamlocal that checks the codes as IAM does, with latency, jitter and
// throttling, in one apply. The AWS CLI then lists them as assigned to the
// right users, and the next plan is a no-op. With -short, 60 devices.
func TestAssign300UnderFaults(t *testing.T) {
	n := sample(300, 60)
	s := newScenario(t, iamlocal.Options{Faults: iamlocal.Faults{Seed: 3, Latency: time.Millisecond, Jitter: 3 * time.Millisecond, RateLimit: 400, Burst: 20}}, n)
	s.withUsers()
	start := time.Now()
	if runs := s.converge(1); runs != 1 {
		t.Fatalf("took %d applies", runs)
	}
	t.Logf("%d devices created and enabled in %v; requests %v; injected %v", n, time.Since(start).Round(time.Millisecond), s.srv.Requests(), s.srv.Injected())
	s.checkAssigned()
	if got := s.srv.Requests()["EnableMFADevice"]; got < n {
		t.Errorf("%d EnableMFADevice calls for %d devices", got, n)
	}
	aws := reftools.Require(t, "aws", "awscli")
	cmd := exec.Command(aws, "--endpoint-url", os.Getenv("MFABULK_ENDPOINT_URL"), "--region", "us-east-1", "--output", "json",
		"iam", "list-virtual-mfa-devices", "--assignment-status", "Assigned")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_PROFILE=") { // set empty by the test: the CLI takes it as a name
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("aws iam list-virtual-mfa-devices: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var listed struct {
		VirtualMFADevices []struct {
			SerialNumber string
			User         struct{ UserName string }
		}
	}
	if err := json.Unmarshal(out, &listed); err != nil {
		t.Fatal(err)
	}
	right := 0
	for _, d := range listed.VirtualMFADevices {
		if strings.HasSuffix(d.SerialNumber, "/faults/"+d.User.UserName) {
			right++
		}
	}
	if right != n || len(listed.VirtualMFADevices) != n {
		t.Errorf("the AWS CLI lists %d assigned devices, %d with the right user; want %d", len(listed.VirtualMFADevices), right, n)
	}
	before := s.srv.Requests()["EnableMFADevice"]
	if out, code := s.mfabulk("apply", "-f", "m.yaml", "--auto-approve"); code != 0 || !strings.Contains(out, "No changes.") {
		t.Errorf("second apply exited %d:\n%s", code, lastLines(out, 5))
	}
	if n := s.srv.Requests()["EnableMFADevice"]; n != before {
		t.Errorf("the no-op apply made %d enable calls", n-before)
	}
	s.leakScan()
}

// TestAssignWithSkewedClocks moves IAM's clock 10 minutes ahead of and
// behind this machine's (the same as this machine's being 10 minutes slow
// or fast): codes are computed from IAM's clock, as its answers' Date
// header gives it, so enabling still succeeds the first time.
func TestAssignWithSkewedClocks(t *testing.T) {
	for _, skew := range []time.Duration{10 * time.Minute, -10 * time.Minute} {
		t.Run(fmt.Sprint(skew), func(t *testing.T) {
			s := newScenario(t, iamlocal.Options{Now: func() time.Time { return time.Now().Add(skew) }}, 6)
			s.withUsers()
			s.converge(1)
			s.checkAssigned()
			if n := s.srv.Requests()["EnableMFADevice"]; n != 6 {
				t.Errorf("%d enable calls for 6 devices: codes were refused", n)
			}
			s.leakScan()
		})
	}
}

// TestAssignKilledAtRandomMoments SIGKILLs an assigning apply at seeded
// random moments after its first create reached IAM: one more apply ends
// with every device assigned and holding a durable outfile. With -short,
// 4 of the 20 trials (the same seeds and delays as the first 4).
func TestAssignKilledAtRandomMoments(t *testing.T) {
	trials := sample(20, 4)
	rng := rand.New(rand.NewSource(11))
	var midRun, assignedAfterKill int
	for trial := range trials {
		delay := time.Duration(rng.Int63n(int64(200 * time.Millisecond)))
		t.Run(fmt.Sprint(trial), func(t *testing.T) {
			s := newScenario(t, iamlocal.Options{Faults: iamlocal.Faults{Seed: int64(trial), Latency: 5 * time.Millisecond, Jitter: 10 * time.Millisecond}}, 12)
			s.withUsers()
			cmd := subprocess("apply", "-f", "m.yaml", "--auto-approve", "--parallelism", "3")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			for deadline := time.Now().Add(30 * time.Second); s.srv.Requests()["CreateVirtualMFADevice"] == 0; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					<-exited
					t.Fatalf("no create reached IAM within 30 s:\n%s", lastLines(out.String(), 10))
				}
			}
			time.Sleep(delay)
			cmd.Process.Signal(syscall.SIGKILL)
			err := <-exited
			s.record(out.Bytes())
			// A request the killed run had sent may still be in the server's
			// hands: it is answered and committed all the same, as by IAM.
			if !s.srv.WaitIdle(10 * time.Second) {
				t.Fatal("iamlocal still busy 10 s after the kill")
			}
			if ee, ok := err.(*exec.ExitError); ok && ee.ProcessState.Sys().(syscall.WaitStatus).Signaled() {
				midRun++
			}
			assigned := 0
			for _, n := range s.names {
				if d, ok := s.srv.Device(n); ok && d.User != "" {
					assigned++
				}
			}
			assignedAfterKill += assigned
			out2, code := s.mfabulk("apply", "-f", "m.yaml", "--auto-approve")
			if code != 0 {
				t.Fatalf("the apply after the kill exited %d:\n%s", code, lastLines(out2, 12))
			}
			if _, code := s.mfabulk("plan", "-f", "m.yaml", "--detailed-exitcode"); code != 0 {
				t.Errorf("not converged after one more apply (plan exit %d)", code)
			}
			s.checkAssigned()
			checkSettled(t)
			s.leakScan()
			t.Logf("killed %v after the first create; %d of 12 assigned at the kill", delay.Round(time.Millisecond), assigned)
		})
	}
	t.Logf("%d trials, %d killed mid-run, %d devices were assigned when killed", trials, midRun, assignedAfterKill)
	if midRun < trials/2 {
		t.Errorf("only %d of %d kills landed mid-run", midRun, trials)
	}
}
