//go:build unix

package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
)

// throttledAccount is an iamlocal account that throttles hard: 5 requests
// a second, a bucket of one.
var throttledAccount = iamlocal.Options{Faults: iamlocal.Faults{RateLimit: 5, Burst: 1}}

var paceLine = regexp.MustCompile(`throttled \d+ times?, now \d+ req/s, \d+ in flight`)

// TestThrottledRunSaysSoOnATerminal runs apply on a real terminal against
// an account that throttles: the progress line says it is throttled, how
// fast it goes now and how many calls are in flight (it is not a --debug
// line), and every device is created.
func TestThrottledRunSaysSoOnATerminal(t *testing.T) {
	s := newScenario(t, throttledAccount, 12)
	t.Setenv("MFABULK_DEBUG", "")
	cmd, _, out := onTerminal(t, "apply", "-f", "m.yaml", "--auto-approve")
	code, _ := waitExit(t, cmd, 3*time.Minute)
	s.record([]byte(out.String()))
	if code != 0 || !strings.Contains(out.String(), "Apply complete: 12 created") {
		t.Fatalf("apply exited %d:\n%s", code, out.String())
	}
	if s.srv.Injected()["Throttling"] == 0 {
		t.Fatal("iamlocal throttled nothing: the test tested nothing")
	}
	if !paceLine.MatchString(out.String()) {
		t.Errorf("the terminal never said the run was throttled:\n%q", out.String())
	}
	if strings.Contains(out.String(), "debug") {
		t.Errorf("debug lines without --debug:\n%s", out.String())
	}
	s.leakScan()
}

// TestThrottledRunInAPipe: without a terminal the throttling is not
// reported (logs get one line per device), unless --debug, which writes
// the pacer's state as debug lines.
func TestThrottledRunInAPipe(t *testing.T) {
	for _, debug := range []string{"", "true"} {
		t.Run("debug="+debug, func(t *testing.T) {
			s := newScenario(t, throttledAccount, 12)
			t.Setenv("MFABULK_DEBUG", debug)
			out, code := s.mfabulk("apply", "-f", "m.yaml", "--auto-approve")
			if code != 0 || s.srv.Injected()["Throttling"] == 0 {
				t.Fatalf("apply exited %d, %d throttled:\n%s", code, s.srv.Injected()["Throttling"], out)
			}
			lines := regexp.MustCompile(`(?m)^mfabulk: debug: pace: ` + paceLine.String() + ` \(limit \d+, (unpaced|paced at [\d.]+/s)\)$`)
			switch {
			case debug == "" && (paceLine.MatchString(out) || strings.Contains(out, "\r")):
				t.Errorf("a pipe got the terminal's status:\n%q", out)
			case debug != "" && !lines.MatchString(out):
				t.Errorf("--debug: no pace line:\n%s", out)
			}
			s.leakScan()
		})
	}
}

// TestParallelismAndMaxRateReachThePacer: apply's --parallelism and
// --max-rate bound what the account sees: never more requests in flight
// than the parallelism, never more in a second than the rate (with slack
// for the pacer's bucket of one and for requests delayed on their way).
func TestParallelismAndMaxRateReachThePacer(t *testing.T) {
	s := newScenario(t, iamlocal.Options{Faults: iamlocal.Faults{Latency: 20 * time.Millisecond}}, 40)
	out, code := s.mfabulk("apply", "-f", "m.yaml", "--auto-approve", "--parallelism", "3", "--max-rate", "20")
	if code != 0 || !strings.Contains(out, "Apply complete: 40 created") {
		t.Fatalf("apply exited %d:\n%s", code, lastLines(out, 12))
	}
	if p := s.srv.PeakInFlight(); p > 3 {
		t.Errorf("%d requests in flight at once, --parallelism 3", p)
	}
	var per []int
	for _, sec := range s.srv.PerSecond() {
		per = append(per, sec.Arrived)
		if sec.Arrived > 20*1.2+2 {
			t.Errorf("%d requests arrived in one second, --max-rate 20", sec.Arrived)
		}
	}
	t.Logf("arrivals by second: %v", per)
	s.leakScan()
}
