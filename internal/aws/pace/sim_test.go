package pace

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// account is a simulated IAM account on synctest's clock: a token bucket
// of rate a second holding burst, as iamlocal's -rate.
type account struct {
	mu             sync.Mutex
	rate, burst    float64
	tokens         float64
	last           time.Time
	start          time.Time
	ok, throttled  []int // by second since start
	inflight, peak int
	// from, to: another caller takes the account's whole budget then.
	from, to time.Duration
}

func (a *account) call(latency time.Duration) Outcome {
	a.mu.Lock()
	a.inflight++
	a.peak = max(a.peak, a.inflight)
	a.mu.Unlock()
	time.Sleep(latency)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inflight--
	now := time.Now()
	sec := int(now.Sub(a.start) / time.Second)
	for len(a.ok) <= sec {
		a.ok = append(a.ok, 0)
		a.throttled = append(a.throttled, 0)
	}
	if a.rate > 0 {
		a.tokens = min(a.burst, a.tokens+now.Sub(a.last).Seconds()*a.rate)
		a.last = now
		if d := now.Sub(a.start); d >= a.from && d < a.to {
			a.tokens = 0
		}
		if a.tokens < 1 {
			a.throttled[sec]++
			return Throttled
		}
		a.tokens--
	}
	a.ok[sec]++
	return OK
}

type simResult struct {
	ofLimit   float64 // ok calls a second over the seconds from the first to the last, over the limit
	throttled float64 // fraction of calls throttled
	okRate    float64
	peak      int
	seconds   string
	wall      time.Duration
}

// simulate makes calls (retrying throttled ones, as the SDK does through
// the pacer) from workers goroutines against an account of the given
// rate, on synctest's fake clock.
func simulate(t *testing.T, o Options, rate, burst float64, latency, jitter time.Duration, calls, workers int, outage ...time.Duration) simResult {
	var res simResult
	synctest.Test(t, func(t *testing.T) {
		rng := rand.New(rand.NewSource(1))
		var rmu sync.Mutex
		lat := func() time.Duration {
			rmu.Lock()
			defer rmu.Unlock()
			if jitter <= 0 {
				return latency
			}
			return latency + time.Duration(rng.Int63n(int64(jitter)))
		}
		a := &account{rate: rate, burst: burst, tokens: burst, last: time.Now(), start: time.Now()}
		if len(outage) == 2 {
			a.from, a.to = outage[0], outage[1]
		}
		c := New(o)
		var mu sync.Mutex
		next := 0
		var wg sync.WaitGroup
		start := time.Now()
		for range workers {
			wg.Go(func() {
				for {
					mu.Lock()
					if next == calls {
						mu.Unlock()
						return
					}
					next++
					mu.Unlock()
					for {
						release, err := c.Acquire(context.Background())
						if err != nil {
							t.Error(err)
							return
						}
						out := a.call(lat())
						release(out)
						if out == OK {
							break
						}
					}
				}
			})
		}
		wg.Wait()
		res.wall = time.Since(start)
		ok, thr := 0, 0
		first, last := -1, -1
		for i := range a.ok {
			ok += a.ok[i]
			thr += a.throttled[i]
			if a.ok[i] > 0 {
				if first < 0 {
					first = i
				}
				last = i
			}
			res.seconds += fmt.Sprintf("%d/%d ", a.ok[i], a.throttled[i])
		}
		// The last second is partial: leave it out when there are others.
		if last > first {
			last--
		}
		phase := 0
		for i := first; i <= last; i++ {
			phase += a.ok[i]
		}
		res.okRate = float64(phase) / float64(last-first+1)
		if rate > 0 {
			res.ofLimit = res.okRate / rate
		}
		res.throttled = float64(thr) / float64(ok+thr)
		res.peak = a.peak
	})
	return res
}

// TestFollowsSimulatedAccounts: 64 workers, each call 50–70 ms, against
// simulated accounts (a token bucket, as iamlocal's -rate) of 10, 50 and
// 200 calls a second, for some 15 seconds each, on synctest's clock: the
// goals of make bench, at least 0.95 of the limit over the calls and at
// most 10 % of them throttled, with the bucket of 10 iamlocal has; a
// large bucket too, and a small one, whose first second says little of
// the rate, at least 0.85. Without a limit the calls in flight reach the
// ceiling.
func TestFollowsSimulatedAccounts(t *testing.T) {
	for _, tc := range []struct {
		rate, burst float64
		calls       int
		min         float64
	}{{10, 10, 300, 0.95}, {50, 10, 750, 0.95}, {200, 10, 3000, 0.95}, {200, 100, 3000, 0.95}, {50, 3, 750, 0.85}} {
		r := simulate(t, Options{Ceiling: 64}, tc.rate, tc.burst, 50*time.Millisecond, 20*time.Millisecond, tc.calls, 64)
		t.Logf("rate %v, bucket %v, %d calls: %.3f of the limit, %.1f%% throttled, peak %d in flight, %v\n  %s",
			tc.rate, tc.burst, tc.calls, r.ofLimit, 100*r.throttled, r.peak, r.wall.Round(time.Millisecond), r.seconds)
		if r.ofLimit < tc.min || r.throttled > 0.10 || r.peak > 64 {
			t.Errorf("rate %v, bucket %v: %.3f of the limit, %.1f%% throttled, peak %d; want ≥ %v, ≤ 10%%, ≤ 64",
				tc.rate, tc.burst, r.ofLimit, 100*r.throttled, r.peak, tc.min)
		}
	}
	// Another caller takes the whole budget for 300 ms in the middle: the
	// pacer cuts on each round of throttled calls it meets, and must come
	// back in seconds (additive increase alone took minutes: 0.15 of the
	// limit over these 15 s).
	r := simulate(t, Options{Ceiling: 64}, 200, 10, 50*time.Millisecond, 20*time.Millisecond, 3000, 64, 5*time.Second, 5300*time.Millisecond)
	t.Logf("rate 200, 300 ms taken by another caller at 5 s: %.3f of the limit, %.1f%% throttled\n  %s", r.ofLimit, 100*r.throttled, r.seconds)
	if r.ofLimit < 0.8 {
		t.Errorf("rate 200 with 300 ms taken by another caller: %.3f of the limit, want ≥ 0.8", r.ofLimit)
	}
	r = simulate(t, Options{Ceiling: 64}, 0, 0, 50*time.Millisecond, 20*time.Millisecond, 3000, 64)
	t.Logf("no limit: %.0f calls/s, peak %d in flight\n  %s", r.okRate, r.peak, r.seconds)
	if r.peak != 64 || r.throttled != 0 {
		t.Errorf("no limit: peak %d in flight, want the ceiling of 64", r.peak)
	}
}
