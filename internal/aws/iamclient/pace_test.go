package iamclient_test

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
)

// These tests drive the pacer end to end, over HTTP, through the SDK's
// retry loop, against iamlocal, and read what the account saw from
// iamlocal's own counts. None asserts a duration.

// withDevices returns an account holding n devices, and their serials.
func withDevices(t *testing.T, opts iamlocal.Options, n int) (*iamlocal.Server, []string) {
	t.Helper()
	srv := iamlocal.New(opts)
	var serials []string
	for i := range n {
		name := fmt.Sprintf("d%04d", i)
		if err := srv.CreateDevice(name, "/p/"); err != nil {
			t.Fatal(err)
		}
		serials = append(serials, "arn:aws:iam::"+iamlocal.DefaultAccount+":mfa/p/"+name)
	}
	return srv, serials
}

// readTags reads the tags of every serial from workers goroutines, as
// plan's refresh does, and fails the test on any error.
func readTags(t *testing.T, c *iamclient.Client, serials []string, workers int) {
	t.Helper()
	work := make(chan string)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for s := range work {
				if _, err := c.ListTags(context.Background(), s); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for _, s := range serials {
		work <- s
	}
	close(work)
	wg.Wait()
}

func totals(srv *iamlocal.Server) (served, throttled int) {
	for _, s := range srv.PerSecond() {
		served += s.Served
		throttled += s.Throttled
	}
	return served, throttled
}

// TestPacerBacksOffUnderThrottling: 32 readers against an account of 50
// requests a second. Unpaced, nearly every request would be throttled;
// the pacer slows to the account's rate, so most are served, every read
// succeeds, and the pacer ends up pacing near the account's rate.
func TestPacerBacksOffUnderThrottling(t *testing.T) {
	srv, serials := withDevices(t, iamlocal.Options{}, 150)
	c := newClientWith(t, srv, iamclient.Options{Parallelism: 32})
	srv.SetFaults(iamlocal.Faults{RateLimit: 50, Burst: 5, Latency: 10 * time.Millisecond})
	readTags(t, c, serials, 32)
	served, throttled := totals(srv)
	s := c.Pace()
	t.Logf("%d served, %d throttled; pacer %+v", served, throttled, s)
	if served != 150 || throttled == 0 || s.Throttled != throttled {
		t.Fatalf("%d served, %d throttled (the pacer saw %d); want 150 served and some throttled", served, throttled, s.Throttled)
	}
	if frac := float64(throttled) / float64(served+throttled); frac > 0.5 {
		t.Errorf("%.0f%% of the requests throttled: the pacer did not back off", 100*frac)
	}
	if math.IsInf(s.Rate, 1) || s.Rate > 100 {
		t.Errorf("pacing at %v a second against an account of 50", s.Rate)
	}
	if p := srv.PeakInFlight(); p > 32 {
		t.Errorf("%d requests in flight at once, parallelism 32", p)
	}
}

// TestPacerGrowsWithoutThrottling: without throttling the limit grows
// from its start (4) to the ceiling, and never past it, retries of
// failed calls included.
func TestPacerGrowsWithoutThrottling(t *testing.T) {
	srv, serials := withDevices(t, iamlocal.Options{}, 400)
	c := newClientWith(t, srv, iamclient.Options{Parallelism: 16, MaxBackoff: 5 * time.Millisecond})
	srv.SetFaults(iamlocal.Faults{Latency: 50 * time.Millisecond, ServiceFailure: 0.1, Seed: 7})
	readTags(t, c, serials, 64)
	s := c.Pace()
	peak := srv.PeakInFlight()
	t.Logf("peak %d in flight; pacer %+v; %d failures injected", peak, s, srv.Injected()["ServiceFailure"])
	if s.Limit != 16 || !math.IsInf(s.Rate, 1) || s.Throttled != 0 || s.Failed == 0 {
		t.Errorf("pacer %+v; want the limit at the ceiling of 16, unpaced, some failures", s)
	}
	if peak > 16 || peak <= 4 {
		t.Errorf("%d requests in flight at once; want more than the start of 4, at most the parallelism of 16", peak)
	}
}

// TestPacerNeverExceedsMaxRate: with a cap of 30 calls a second below the
// account's 100, the calls that arrive in any second of the account's
// clock are at most 30 (with slack for the pacer's bucket of one and for
// calls delayed on their way), and none is throttled.
func TestPacerNeverExceedsMaxRate(t *testing.T) {
	srv, serials := withDevices(t, iamlocal.Options{}, 75)
	c := newClientWith(t, srv, iamclient.Options{Parallelism: 32, MaxRate: 30})
	srv.SetFaults(iamlocal.Faults{RateLimit: 100, Burst: 5})
	readTags(t, c, serials, 32)
	var per []int
	arrived := 0
	for _, s := range srv.PerSecond() {
		per = append(per, s.Arrived)
		arrived += s.Arrived
		if s.Arrived > 30*1.2+2 {
			t.Errorf("%d calls arrived in one second, max rate 30", s.Arrived)
		}
	}
	t.Logf("arrivals by second: %v; pacer %+v", per, c.Pace())
	if _, throttled := totals(srv); throttled != 0 || arrived != 75 {
		t.Errorf("%d arrived, %d throttled; want 75 and none", arrived, throttled)
	}
	if r := c.Pace().Rate; r != 30 {
		t.Errorf("pacing at %v, want the cap of 30", r)
	}
}
