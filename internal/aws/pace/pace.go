// Package pace decides how many AWS calls mfabulk has in flight and how
// fast it starts them, from what the account answers: the calls of one
// run against one account all go through one [Controller].
//
// IAM throttles each account with token buckets whose sizes AWS does not
// publish, shared with everyone else calling IAM in that account. The
// fastest correct client finds the account's current rate and stays just
// under it, and gives way when another caller needs the budget. The
// Controller does it with two AIMD loops (additive increase,
// multiplicative decrease), as TCP's congestion control does:
//
//   - a concurrency limit: it starts moderate (Options.Start), grows by one
//     for each window of successes (as many as the limit), and halves on
//     Throttling, never above Options.Ceiling (--parallelism) nor below 1;
//   - a token-bucket pacer: unpaced until the first Throttling (unless
//     Options.MaxRate caps it: --max-rate), then at a rate estimate cut to
//     Options.RateDecrease of the rate achieved on each Throttling, and
//     raised, while the pacer is what holds calls back, never above
//     MaxRate: first in slow start (doubling each second, as TCP's slow
//     start does, since the first Throttling, of an unpaced burst, says
//     little about the rate), then, once paced calls were throttled,
//     additively by a step set at each cut (Options.RateStep of the rate
//     achieved then, each second).
//
// A Throttling answer cuts both at most once per round: calls that were
// already in flight when a cut was made do not cut again (TCP's once per
// round trip), so a burst of throttled answers to one burst of calls does
// not collapse the limit to 1.
//
// Why AIMD rather than a gradient limiter (Netflix's concurrency-limits,
// which infers queueing from rising latency): IAM does not queue, it
// answers Throttling at once, so latency carries no signal and the
// explicit Throttling is the congestion signal, exactly TCP's loss. AIMD
// is simple, needs no latency baseline (jitter on a shared control plane
// would make one noisy), and is fair: several runs sharing an account's
// budget, each backing off multiplicatively and growing additively,
// converge to equal shares, as TCP flows sharing a link do.
package pace

import (
	"context"
	"math"
	"sync"
	"time"
)

// Outcome is how a call ended, as release reports it to the Controller.
type Outcome int

const (
	// OK: the call was answered and not throttled (an error that is the
	// answer, such as EntityAlreadyExists, is OK for pacing).
	OK Outcome = iota
	// Throttled: the answer was Throttling (or another "slow down").
	Throttled
	// Failed: no useful signal about the account's rate (a network error,
	// a 5xx, a cancelled call): the slot is given back, nothing changes.
	Failed
)

// Clock is the time the pacer runs on; tests use a simulated one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Options configure a [Controller]; the zero value of a field is its
// default.
type Options struct {
	// Ceiling is the most calls in flight at once (--parallelism); at
	// least 1.
	Ceiling int
	// Start is the concurrency limit to begin with: min(Ceiling, 4).
	Start int
	// MaxRate caps calls started a second (--max-rate); 0 is no cap.
	// Over any interval T the Controller starts at most MaxRate·T + 1
	// calls (a bucket of one token).
	MaxRate float64
	// RateDecrease is the fraction of the achieved rate the pacer keeps
	// on Throttling: 0.85.
	RateDecrease float64
	// RateStep is the rate's additive increase a second, as a fraction of
	// the rate achieved at the first Throttling: 0.05.
	RateStep float64
	// Clock is time.Now and time.After when nil.
	Clock Clock
}

// Controller paces one account's calls; it is safe for concurrent use.
type Controller struct {
	opts  Options
	clock Clock

	mu       sync.Mutex
	wake     chan struct{} // closed (and replaced) when a slot frees or the rate changes
	limit    float64       // concurrency limit, fractional while growing
	oks      int           // successes since the limit last grew
	inflight int
	rate     float64 // calls a second; +Inf when unpaced
	step     float64 // the rate's increase a second, set on each cut
	slow     bool    // slow start: the rate doubles each second until paced calls are throttled
	tokens   float64
	last     time.Time   // tokens were counted up to last
	seq      uint64      // calls started
	cutAt    uint64      // seq when the last cut was made
	grants   []time.Time // start times of the calls of the last second
	waitedAt time.Time   // when a call last waited for a token
	throttle int         // Throttling answers seen
	failed   int         // Failed outcomes
}

// New returns a Controller.
func New(opts Options) *Controller {
	if opts.Ceiling < 1 {
		opts.Ceiling = 1
	}
	if opts.Start < 1 {
		opts.Start = 4
	}
	opts.Start = min(opts.Start, opts.Ceiling)
	if opts.RateDecrease <= 0 || opts.RateDecrease >= 1 {
		opts.RateDecrease = 0.85
	}
	if opts.RateStep <= 0 {
		opts.RateStep = 0.05
	}
	clock := opts.Clock
	if clock == nil {
		clock = realClock{}
	}
	c := &Controller{opts: opts, clock: clock, wake: make(chan struct{}), limit: float64(opts.Start), rate: math.Inf(1), tokens: 1, slow: true}
	if opts.MaxRate > 0 {
		c.rate = opts.MaxRate
	}
	c.last = clock.Now()
	return c
}

// Stats is the Controller's state, for a progress line and for tests.
type Stats struct {
	Limit     int     // concurrency limit
	InFlight  int     // calls in flight
	Rate      float64 // calls a second the pacer allows; +Inf when unpaced
	Achieved  float64 // calls started in the last second
	Started   uint64  // calls started
	Throttled int     // Throttling answers
	Failed    int     // calls that ended Failed
}

// Stats returns the current state.
func (c *Controller) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	got := c.achieved(c.clock.Now())
	return Stats{Limit: int(c.limit), InFlight: c.inflight, Rate: c.rate, Achieved: got, Started: c.seq, Throttled: c.throttle, Failed: c.failed}
}

// Acquire waits for a slot under the concurrency limit and a token from
// the pacer, or for ctx to end (then it returns ctx's error). The caller
// makes its call, then reports how it ended with release, exactly once.
func (c *Controller) Acquire(ctx context.Context) (release func(Outcome), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	for {
		var timer <-chan time.Time
		if c.inflight < int(c.limit) {
			now := c.clock.Now()
			c.refill(now)
			if c.tokens >= 1 {
				c.tokens--
				c.inflight++
				c.seq++
				seq := c.seq
				c.grants = append(c.grants, now)
				c.mu.Unlock()
				var once sync.Once
				return func(o Outcome) { once.Do(func() { c.release(seq, o) }) }, nil
			}
			c.waitedAt = now
			wait := time.Duration(math.Ceil((1 - c.tokens) / c.rate * float64(time.Second)))
			timer = c.clock.After(max(wait, time.Nanosecond))
		}
		wake := c.wake
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-wake:
		case <-timer:
		}
		c.mu.Lock()
	}
}

// refill adds the tokens earned since last; the bucket holds one.
func (c *Controller) refill(now time.Time) {
	if math.IsInf(c.rate, 1) {
		c.tokens = 1
	} else if d := now.Sub(c.last); d > 0 {
		c.tokens = min(1, c.tokens+d.Seconds()*c.rate)
	}
	c.last = now
}

// achieved returns the calls started in the last second, dropping older
// start times.
func (c *Controller) achieved(now time.Time) float64 {
	i := 0
	for i < len(c.grants) && now.Sub(c.grants[i]) >= time.Second {
		i++
	}
	if i > 0 {
		c.grants = append(c.grants[:0], c.grants[i:]...)
	}
	return float64(len(c.grants))
}

func (c *Controller) release(seq uint64, o Outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inflight--
	now := c.clock.Now()
	c.refill(now)
	switch o {
	case OK:
		c.oks++
		if c.oks >= int(c.limit) && int(c.limit) < c.opts.Ceiling {
			c.limit++
			c.oks = 0
		}
		// The rate grows only while it is what holds calls back (TCP's
		// "cwnd-limited"): otherwise it would grow without bound.
		if now.Sub(c.waitedAt) < time.Second && !math.IsInf(c.rate, 1) {
			if c.slow {
				c.rate++ // one more for each success: doubles each second
			} else {
				c.rate += c.step / c.rate
			}
			if c.opts.MaxRate > 0 {
				c.rate = min(c.rate, c.opts.MaxRate)
			}
		}
	case Failed:
		c.failed++
	case Throttled:
		c.throttle++
		if seq <= c.cutAt {
			break // in flight when the last cut was made: it is counted
		}
		c.cutAt = c.seq
		c.limit = max(1, math.Floor(c.limit/2))
		c.oks = 0
		got := c.achieved(now)
		if got < 1 {
			got = 1
		}
		if !math.IsInf(c.rate, 1) {
			c.slow = false // paced calls were throttled: the rate is found
		}
		c.step = max(c.opts.RateStep*got, 0.1)
		c.rate = max(0.1, c.opts.RateDecrease*min(c.rate, got))
		c.tokens = min(c.tokens, 0)
	}
	c.achieved(now)
	close(c.wake)
	c.wake = make(chan struct{})
}
