package pace

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// simClock is simulated time for one goroutine: After moves the time on
// to the deadline and fires at once, so a run of Acquires is a
// discrete-event simulation.
type simClock struct {
	mu  sync.Mutex
	now time.Time
}

func newSimClock() *simClock { return &simClock{now: time.Unix(1_000_000, 0)} }

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *simClock) After(d time.Duration) <-chan time.Time {
	c.advance(d)
	ch := make(chan time.Time, 1)
	ch <- c.Now()
	return ch
}

func (c *simClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// bucket is a simulated IAM account: a token bucket of rate a second,
// holding burst, on the simulated clock.
type bucket struct {
	clock       *simClock
	rate        float64
	burst       float64
	tokens      float64
	last        time.Time
	ok, refused int
}

func (b *bucket) call() Outcome {
	now := b.clock.Now()
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		b.refused++
		return Throttled
	}
	b.tokens--
	b.ok++
	return OK
}

func acquire(t *testing.T, c *Controller) func(Outcome) {
	t.Helper()
	release, err := c.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return release
}

// steadySecond starts 100 calls a second on c for a second, each answered
// OK after 100 ms, and returns the releases of the 9 still in flight.
func steadySecond(t *testing.T, c *Controller, clock *simClock) []func(Outcome) {
	t.Helper()
	var pending []func(Outcome)
	for range 100 {
		pending = append(pending, acquire(t, c))
		clock.advance(10 * time.Millisecond)
		if len(pending) == 10 {
			pending[0](OK)
			pending = pending[1:]
		}
	}
	return pending
}

// TestGrowsWithoutThrottling: successes raise the limit to the ceiling,
// one window at a time, and leave the calls unpaced.
func TestGrowsWithoutThrottling(t *testing.T) {
	c := New(Options{Ceiling: 32, Clock: newSimClock()})
	if got := c.Stats().Limit; got != 4 {
		t.Fatalf("starting limit %d, want 4", got)
	}
	prev := 4
	for range 2000 {
		acquire(t, c)(OK)
		l := c.Stats().Limit
		if l < prev || l > prev+1 {
			t.Fatalf("limit went from %d to %d on a success", prev, l)
		}
		prev = l
	}
	if s := c.Stats(); s.Limit != 32 || !math.IsInf(s.Rate, 1) {
		t.Errorf("after 2000 successes: %+v, want limit 32 (the ceiling), unpaced", s)
	}
}

// TestBacksOffUnderThrottling: Throttling halves the limit (to 1 at
// least) and paces the calls, once per round: answers to calls already in
// flight at a cut do not cut again.
func TestBacksOffUnderThrottling(t *testing.T) {
	clock := newSimClock()
	c := New(Options{Ceiling: 64, Start: 16, Clock: clock})
	var rel []func(Outcome)
	for range 16 {
		rel = append(rel, acquire(t, c))
	}
	for _, r := range rel {
		r(Throttled) // one burst, one round
	}
	s := c.Stats()
	if s.Limit != 8 || s.Throttled != 16 || math.IsInf(s.Rate, 1) || s.Rate > 0.85*16 {
		t.Fatalf("after one throttled round of 16: %+v, want limit 8 and a rate ≤ 13.6", s)
	}
	rate := s.Rate
	for range 10 {
		acquire(t, c)(Throttled)
	}
	if s := c.Stats(); s.Limit != 1 || s.Rate >= rate {
		t.Errorf("after 10 more throttled rounds: %+v, want limit 1 and a rate below %.1f", s, rate)
	}
}

// TestFollowsTheAccountsRate: against simulated accounts of 10, 50 and
// 200 calls a second, the pacer settles just under the rate, with few
// throttled calls.
func TestFollowsTheAccountsRate(t *testing.T) {
	for _, limit := range []float64{10, 50, 200} {
		clock := newSimClock()
		acct := &bucket{clock: clock, rate: limit, burst: 10, tokens: 10}
		c := New(Options{Ceiling: 64, Clock: clock})
		start := clock.Now()
		for clock.Now().Sub(start) < 60*time.Second {
			release := acquire(t, c)
			clock.advance(time.Millisecond) // the call's latency
			release(acct.call())
		}
		got := float64(acct.ok) / 60
		frac := float64(acct.refused) / float64(acct.ok+acct.refused)
		t.Logf("limit %v: %.1f calls/s ok (%.2f of the limit), %.1f%% throttled, rate now %.1f", limit, got, got/limit, 100*frac, c.Stats().Rate)
		if got < 0.8*limit || frac > 0.10 {
			t.Errorf("limit %v: %.1f calls/s ok, %.1f%% throttled; want ≥ 0.8 of the limit and ≤ 10%% throttled", limit, got, 100*frac)
		}
	}
}

// TestNeverExceedsMaxRate: with MaxRate, the calls started in each
// simulated second, however fast they come back, are at most MaxRate
// (plus the bucket's one token in the first).
func TestNeverExceedsMaxRate(t *testing.T) {
	clock := newSimClock()
	c := New(Options{Ceiling: 64, MaxRate: 25, Clock: clock})
	start := clock.Now()
	perSecond := map[int]int{}
	for clock.Now().Sub(start) < 10*time.Second {
		release := acquire(t, c)
		perSecond[int(clock.Now().Sub(start)/time.Second)]++
		release(OK)
	}
	for sec, n := range perSecond {
		if sec >= 10 {
			continue // the loop's last call
		}
		allowed := 25
		if sec == 0 {
			allowed++
		}
		if n > allowed {
			t.Errorf("second %d: %d calls started, max rate 25", sec, n)
		}
		if sec > 0 && n < 24 {
			t.Errorf("second %d: only %d calls started, want the max rate of 25", sec, n)
		}
	}
	if r := c.Stats().Rate; r != 25 {
		t.Errorf("rate %v, want 25", r)
	}
}

// TestNeverExceedsTheCeiling: 16 goroutines hammering a Controller of
// ceiling 5 never have more than 5 calls in flight.
func TestNeverExceedsTheCeiling(t *testing.T) {
	c := New(Options{Ceiling: 5, Start: 5})
	var inflight, peak atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				release, err := c.Acquire(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				n := inflight.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				inflight.Add(-1)
				release(OK)
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > 5 || p < 1 {
		t.Errorf("peak in flight %d, ceiling 5", p)
	}
	if s := c.Stats(); s.Limit != 5 || s.InFlight != 0 || s.Started != 3200 {
		t.Errorf("stats %+v", s)
	}
}

// TestAcquireReturnsContextErrors: a cancelled context fails at once, and
// one cancelled while Acquire waits for a slot or for a token ends the
// wait with its error.
func TestAcquireReturnsContextErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New(Options{Ceiling: 1}).Acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}

	for _, tc := range []struct {
		name string
		c    *Controller
	}{
		{"slot", New(Options{Ceiling: 1})},
		{"token", New(Options{Ceiling: 8, MaxRate: 0.0001})},
	} {
		hold := acquire(t, tc.c) // takes the only slot, or the only token
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := tc.c.Acquire(ctx)
			done <- err
		}()
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s: %v", tc.name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: Acquire still waiting after its context was cancelled", tc.name)
		}
		hold(OK)
		hold(Throttled) // a second release is ignored
		if s := tc.c.Stats(); s.InFlight != 0 || s.Throttled != 0 {
			t.Errorf("%s: after release: %+v", tc.name, s)
		}
	}
}

// TestFailedChangesNothing: an outcome that says nothing of the account's
// rate gives the slot back and leaves the limit and the rate alone.
func TestFailedChangesNothing(t *testing.T) {
	c := New(Options{Ceiling: 8, MaxRate: 40, Clock: newSimClock()})
	before := c.Stats()
	for range 100 {
		acquire(t, c)(Failed)
	}
	after := c.Stats()
	if after.Limit != before.Limit || after.Rate != before.Rate || after.InFlight != 0 || after.Throttled != 0 {
		t.Errorf("before %+v, after 100 failures %+v", before, after)
	}
}

// TestSlowStartEndsAtTheFirstThrottling: before any Throttling the limit
// grows by half a call a success (×1.5 a round); after it, by one for
// each window of successes.
func TestSlowStartEndsAtTheFirstThrottling(t *testing.T) {
	c := New(Options{Ceiling: 1000, Clock: newSimClock()})
	for range 8 {
		acquire(t, c)(OK)
	}
	if l := c.Stats().Limit; l != 8 {
		t.Fatalf("limit %d after 8 successes in slow start, want 4 + 8/2 = 8", l)
	}
	acquire(t, c)(Throttled)
	l := c.Stats().Limit
	for range l - 1 {
		acquire(t, c)(OK)
	}
	if got := c.Stats().Limit; got != l {
		t.Fatalf("limit %d after %d successes past slow start, want still %d", got, l-1, l)
	}
	acquire(t, c)(OK)
	if got := c.Stats().Limit; got != l+1 {
		t.Errorf("limit %d after a window of %d successes, want %d", got, l, l+1)
	}
}

// TestCutKeepsWhatTheRateNeeds: calls of 100 ms at a rate of some 100 a
// second need 10 in flight (Little's law); a Throttling halves the limit,
// 24, but not below twice what the new rate needs.
func TestCutKeepsWhatTheRateNeeds(t *testing.T) {
	clock := newSimClock()
	c := New(Options{Ceiling: 24, Start: 24, Clock: clock})
	pending := steadySecond(t, c, clock)
	pending[0](Throttled)
	s := c.Stats()
	if s.Rate < 80 || s.Rate > 100 {
		t.Fatalf("rate %.1f after a Throttling at 100 calls a second, want 0.9 of the successes measured", s.Rate)
	}
	need := int(math.Ceil(2 * s.Rate * 0.1))
	if s.Limit != need {
		t.Errorf("limit %d after the cut from 24, want 2 × %.1f/s × 100 ms = %d, more than half of 24", s.Limit, s.Rate, need)
	}
}

// TestBurstOfFiftyMilliseconds: a paced Controller holds 50 ms of its
// rate for calls that come in bursts, so that the gaps between bursts do
// not lose the rate; under --max-rate the bucket holds one token.
func TestBurstOfFiftyMilliseconds(t *testing.T) {
	for _, maxRate := range []float64{0, 1000} {
		clock := newSimClock()
		c := New(Options{Ceiling: 64, MaxRate: maxRate, Clock: clock})
		for range 100 { // 100 calls a second, then a Throttling: paced at 90
			acquire(t, c)(OK)
			clock.advance(10 * time.Millisecond)
		}
		acquire(t, c)(Throttled)
		rate := c.Stats().Rate
		clock.advance(time.Second) // idle
		at, n := clock.Now(), 0
		for clock.Now().Equal(at) {
			acquire(t, c)(Failed)
			n++
		}
		n-- // the last one waited for its token
		want := 1
		if maxRate == 0 {
			want = int(rate * 0.05)
		}
		if n != want {
			t.Errorf("max rate %v, paced at %.1f: %d calls at once after a second idle, want %d", maxRate, rate, n, want)
		}
	}
}

// TestOneCutARound: calls started within a round trip after a cut still
// meet the account's bucket that the calls before it emptied; their
// Throttling is the same round's and does not cut the rate again (it cut
// a rate of 145 to 131 within 70 ms in a run of make bench). A call
// started a round trip after the cut is a new round.
func TestOneCutARound(t *testing.T) {
	clock := newSimClock()
	c := New(Options{Ceiling: 64, Start: 64, Clock: clock})
	pending := steadySecond(t, c, clock)
	pending[0](Throttled) // the cut
	cut := c.Stats().Rate
	soon := acquire(t, c) // started at once after the cut
	clock.advance(50 * time.Millisecond)
	soon(Throttled)
	if got := c.Stats().Rate; got != cut {
		t.Fatalf("rate %.1f after a Throttling of a call started right after the cut to %.1f, want no second cut", got, cut)
	}
	clock.advance(100 * time.Millisecond)
	late := acquire(t, c) // a round trip after the cut
	clock.advance(100 * time.Millisecond)
	late(Throttled)
	if got := c.Stats().Rate; got >= cut {
		t.Errorf("rate %.1f after a Throttling of a call started a round trip after the cut to %.1f, want a new cut", got, cut)
	}
}
