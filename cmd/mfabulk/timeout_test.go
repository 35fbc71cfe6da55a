package main

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
)

// hangDeadline keeps a test that meets a hanging mfabulk (as before the
// timeouts existed) from hanging the suite: it fails instead. It is a
// guard, not a timed assertion: the runs below end in seconds.
const hangDeadline = 90 * time.Second

// mfabulkWithin runs the CLI in-process like s.mfabulk, failing the test
// if it has not ended by the deadline.
func (s *scenario) mfabulkWithin(args ...string) (string, int) {
	s.t.Helper()
	type result struct {
		out  string
		code int
	}
	done := make(chan result, 1)
	go func() {
		out, code := s.mfabulk(args...)
		done <- result{out, code}
	}()
	select {
	case r := <-done:
		return r.out, r.code
	case <-time.After(hangDeadline):
		s.t.Fatalf("mfabulk %s still running after %v: nothing bounds its AWS calls", strings.Join(args, " "), hangDeadline)
		return "", 0
	}
}

// silentEndpoint is a loopback TCP listener that accepts, reads and never
// answers, holding every connection until the test ends.
func silentEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go io.Copy(io.Discard, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

var timeoutLine = regexp.MustCompile(`(?m)^mfabulk: debug: \w+:\w+: no response \(timeout\) in \S+$`)

// TestHangingEndpoint: plan and apply against an endpoint that accepts and
// never answers (a bare TCP listener, and iamlocal holding every request)
// end with exit 1 and an error naming the operation, the endpoint and the
// timeout, plus a hint. The run's first call (sts:GetCallerIdentity) is
// not tried again after a read timeout, whatever the attempts allow: an
// endpoint silent from the start is a wrong one, or down. plan sets the
// timeouts as flags, apply in the environment. Then iamlocal answers
// GetCallerIdentity and holds every IAM call: with the default 10
// attempts, the call timeout ends apply first.
func TestHangingEndpoint(t *testing.T) {
	for _, endpoint := range []string{"tcp", "iamlocal"} {
		t.Run(endpoint, func(t *testing.T) {
			s := newScenario(t, iamlocal.Options{}, 2)
			url := os.Getenv("MFABULK_ENDPOINT_URL")
			if endpoint == "tcp" {
				url = silentEndpoint(t)
				t.Setenv("MFABULK_ENDPOINT_URL", url)
			} else {
				s.srv.SetFaults(iamlocal.Faults{Hang: 1})
			}
			first := regexp.MustCompile(`(?m)^mfabulk: error: sts:GetCallerIdentity: no response from ` + regexp.QuoteMeta(url) + ` within --read-timeout 2s$`)

			t.Setenv("AWS_MAX_ATTEMPTS", "2")
			out, code := s.mfabulkWithin("plan", "-f", "m.yaml", "--connect-timeout", "1s", "--read-timeout", "2s", "--call-timeout", "10s")
			if code != 1 || !first.MatchString(out) ||
				!strings.Contains(out, "mfabulk: hint: check that the endpoint is reachable and answers (--endpoint-url, AWS_ENDPOINT_URL), or raise --read-timeout\n") {
				t.Errorf("plan exited %d:\n%s", code, out)
			}
			if n := len(timeoutLine.FindAllString(out, -1)); n != 1 {
				t.Errorf("--debug logged %d timed-out attempts, want 1:\n%s", n, out)
			}

			t.Setenv("AWS_MAX_ATTEMPTS", "")
			t.Setenv("MFABULK_CONNECT_TIMEOUT", "1s")
			t.Setenv("MFABULK_READ_TIMEOUT", "2s")
			t.Setenv("MFABULK_CALL_TIMEOUT", "10s")
			out, code = s.mfabulkWithin("apply", "-f", "m.yaml", "--auto-approve")
			if code != 1 || !first.MatchString(out) {
				t.Errorf("apply exited %d:\n%s", code, out)
			}
			if endpoint == "iamlocal" {
				s.srv.SetFaults(iamlocal.Faults{Hang: 1, HangActions: []string{"ListVirtualMFADevices", "CreateVirtualMFADevice"}})
				out, code = s.mfabulkWithin("apply", "-f", "m.yaml", "--auto-approve")
				if code != 1 || !regexp.MustCompile(`(?m)^mfabulk: error: iam:ListVirtualMFADevices: no response from `+regexp.QuoteMeta(url)+` within --call-timeout 10s \(\d+ attempts\)$`).MatchString(out) ||
					!strings.Contains(out, "or raise --call-timeout\n") {
					t.Errorf("apply with IAM calls held exited %d:\n%s", code, out)
				}
			}
			if len(s.srv.Issued()) != 0 {
				t.Errorf("%d devices created", len(s.srv.Issued()))
			}
			s.leakScan()
		})
	}
}

// TestCreateCommittedThenHeld: IAM commits each create and then never
// answers. apply ends, exit 1; each device exists without an outfile and
// its intent stays, so the next plan proposes to replace it as seed lost,
// and apply converges. With one attempt a call the create's timeout is the
// failure; with the default attempts the SDK retries the timed-out create,
// meets EntityAlreadyExists and recovers (delete, create again) until the
// recoveries run out.
func TestCreateCommittedThenHeld(t *testing.T) {
	for _, attempts := range []string{"1", ""} {
		t.Run("attempts="+attempts, func(t *testing.T) {
			s := newScenario(t, iamlocal.Options{}, 2)
			url := os.Getenv("MFABULK_ENDPOINT_URL")
			t.Setenv("AWS_MAX_ATTEMPTS", attempts)
			t.Setenv("MFABULK_CONNECT_TIMEOUT", "1s")
			t.Setenv("MFABULK_READ_TIMEOUT", "2s")
			t.Setenv("MFABULK_CALL_TIMEOUT", "10s")
			s.srv.SetFaults(iamlocal.Faults{HangAfterCommit: 1, HangActions: []string{"CreateVirtualMFADevice"}})

			out, code := s.mfabulkWithin("apply", "-f", "m.yaml", "--auto-approve")
			if code != 1 || !strings.Contains(out, "Apply complete: 0 created") {
				t.Fatalf("apply exited %d:\n%s", code, out)
			}
			if !strings.Contains(out, "mfabulk: debug: IAM:CreateVirtualMFADevice: no response (timeout) in ") {
				t.Errorf("--debug logged no timed-out create:\n%s", out)
			}
			if attempts == "1" && !strings.Contains(out, `: creating device "d000": iam:CreateVirtualMFADevice: no response from `+url+" within --read-timeout 2s\n") {
				t.Errorf("the failure does not name the create, the endpoint and the timeout:\n%s", out)
			}
			if n := len(s.srv.Devices()); n != 2 {
				t.Fatalf("%d devices in the account, want the 2 committed ones", n)
			}
			for _, name := range s.names {
				outfile := s.outfile(name)
				if _, err := os.Lstat(outfile); err == nil {
					t.Errorf("%s exists, but its create never answered", outfile)
				}
				if _, err := os.Lstat(filepath.Join("out", "."+filepath.Base(outfile)+".intent")); err != nil {
					t.Errorf("the intent of %s is gone: %v", name, err)
				}
			}

			s.srv.SetFaults(iamlocal.Faults{})
			plan, code := s.mfabulkWithin("plan", "-f", "m.yaml")
			for _, name := range s.names {
				if code != 0 || !strings.Contains(plan, "~ replace     /faults/"+name+": seed lost") {
					t.Errorf("plan exited %d and does not replace %s as seed lost:\n%s", code, name, plan)
				}
			}
			s.converge(2)
			s.checkDurable()
			s.leakScan()
		})
	}
}
