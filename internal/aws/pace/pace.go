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
//   - a concurrency limit: it starts moderate (Options.Start) and grows in
//     slow start (half a call more for each success: ×1.5 a round trip)
//     until the first Throttling, then by one for each window of
//     successes (as many as the limit), never above Options.Ceiling
//     (--parallelism). On Throttling it halves, but not below twice what
//     the new rate needs at the calls' latency (Little's law): throttling
//     is about the rate, which the pacer sets; the limit only bounds the
//     calls in flight if IAM slows down;
//   - a token-bucket pacer (holding 50 ms of its rate, one token under
//     --max-rate): unpaced until the first Throttling (unless
//     Options.MaxRate caps it: --max-rate), then, on each Throttling, cut to Options.RateDecrease
//     (0.9) of the account's rate as measured from its answers (see
//     below), but never to less than 0.45 of the rate it had, and
//     raised, while the pacer is what holds calls back, never above
//     MaxRate: first in slow start (×3 each second, since the first
//     Throttling, of an unpaced burst, says little about the rate), then,
//     once paced calls were throttled, as TCP BIC and CUBIC grow: fast
//     back to a target, the rate the account took when the episode of
//     Throttling began (closing the gap at four times its size a
//     second), then past it slowly (Options.RateStep, 0.04 of the
//     measured rate, a second), faster the farther past, since no
//     Throttling there says the account has more to give. The rate so
//     spends most of its time between 0.95 and 1 of the account's, drains
//     the account's bucket of what it saved meanwhile, is throttled once
//     and cut again: one Throttling in a few seconds. A moment when
//     someone else takes the whole budget, whose every round cuts the
//     rate, costs seconds, not the minutes additive increase alone takes
//     back from a rate cut to nothing; each further cut of an episode
//     lowers the target by 5 %, for an account that really has less to
//     give.
//
// The measure: while calls are throttled the account's bucket is empty,
// and its successes come exactly at its rate. The Controller counts the
// successes of the last second, and, within an episode of Throttling,
// since its first Throttling, once a round trip has passed: that
// excludes the burst the account's bucket held before, which would
// otherwise make a slow account look fast at the start of a run.
//
// A Throttling answer cuts both at most once per round: calls that were
// already in flight when a cut was made, or started within a round trip
// after it, do not cut again (TCP's once per round trip), so a burst of
// throttled answers to one burst of calls does not collapse the limit to
// 1. (Calls started just after a cut still meet the bucket the calls
// before it emptied: counting them cut a rate of 145 to 131 in 70 ms.)
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
	// RateDecrease is the fraction of the account's measured rate the
	// pacer keeps on Throttling: 0.9.
	RateDecrease float64
	// RateStep is the rate's additive increase a second, as a fraction of
	// the rate measured at the last cut: 0.04.
	RateStep float64
	// Clock is time.Now and time.After when nil.
	Clock Clock
}

// Controller paces one account's calls; it is safe for concurrent use.
type Controller struct {
	opts  Options
	clock Clock

	mu       sync.Mutex
	queue    []chan struct{} // callers waiting in line; the first waits for a slot or a token
	limit    float64         // concurrency limit, fractional while growing
	oks      int             // successes since the limit last grew
	inflight int
	rate     float64 // calls a second; +Inf when unpaced
	step     float64 // the rate's least increase a second, set on each cut
	target   float64 // the rate when this episode's first cut was made: the rate climbs back to it fast
	slow     bool    // the rate's slow start: ×3 each second until paced calls are throttled
	found    bool    // a call was throttled: the concurrency limit left its slow start
	tokens   float64
	last     time.Time   // tokens were counted up to last
	seq      uint64      // calls started
	cutAt    uint64      // seq when the last cut was made
	cutTime  time.Time   // when the last cut was made
	grants   []time.Time // start times of the calls of the last second
	first    time.Time   // the first call's start
	answers  []time.Time // answer times of the successes of the last second
	rtt      time.Duration
	episode  time.Time // the first Throttling after a second without: the account's bucket is empty since
	cutIn    bool      // a cut was made in this episode
	lastThr  time.Time // the last Throttling
	waitedAt time.Time // when a call last waited for a token
	throttle int       // Throttling answers seen
	failed   int       // Failed outcomes
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
		opts.RateDecrease = 0.9
	}
	if opts.RateStep <= 0 {
		opts.RateStep = 0.04
	}
	clock := opts.Clock
	if clock == nil {
		clock = realClock{}
	}
	c := &Controller{opts: opts, clock: clock, limit: float64(opts.Start), rate: math.Inf(1), tokens: 1, slow: true}
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
//
// Callers wait in line, first come first served: only the first one
// waits for the slot or the token, and a release wakes only it, not
// every waiting caller (with --parallelism callers waiting, a wake-up
// for all at each of hundreds of calls a second costs more CPU than the
// calls).
func (c *Controller) Acquire(ctx context.Context) (release func(Outcome), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.queue) == 0 {
		if release, _ := c.grant(); release != nil {
			c.mu.Unlock()
			return release, nil
		}
	}
	me := make(chan struct{}, 1)
	c.queue = append(c.queue, me)
	for {
		var timer <-chan time.Time
		if c.queue[0] == me {
			release, wait := c.grant()
			if release != nil {
				c.queue = c.queue[1:]
				c.signal()
				c.mu.Unlock()
				return release, nil
			}
			if wait > 0 {
				timer = c.clock.After(wait)
			}
		}
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			c.mu.Lock()
			c.leave(me)
			c.mu.Unlock()
			return nil, ctx.Err()
		case <-me:
		case <-timer:
		}
		c.mu.Lock()
	}
}

// grant starts a call if a slot and a token are free, and returns its
// release; otherwise nil, and how long until the next token if a slot is
// free (0 if the wait is for a slot). c.mu is held.
func (c *Controller) grant() (func(Outcome), time.Duration) {
	if c.inflight >= int(c.limit) {
		return nil, 0
	}
	now := c.clock.Now()
	c.refill(now)
	if c.tokens < 1 {
		c.waitedAt = now
		wait := time.Duration(math.Ceil((1 - c.tokens) / c.rate * float64(time.Second)))
		return nil, max(wait, time.Nanosecond)
	}
	c.tokens--
	c.inflight++
	c.seq++
	seq := c.seq
	c.grants = append(c.grants, now)
	if c.first.IsZero() {
		c.first = now
	}
	var once sync.Once
	return func(o Outcome) { once.Do(func() { c.release(seq, now, o) }) }, 0
}

// signal wakes the first caller in line, to try again. c.mu is held.
func (c *Controller) signal() {
	if len(c.queue) > 0 {
		select {
		case c.queue[0] <- struct{}{}:
		default: // already woken
		}
	}
}

// leave takes a caller whose context ended out of the line; if it was
// first, the next one takes its place. c.mu is held.
func (c *Controller) leave(me chan struct{}) {
	for i, w := range c.queue {
		if w == me {
			c.queue = append(c.queue[:i], c.queue[i+1:]...)
			if i == 0 {
				c.signal()
			}
			return
		}
	}
}

// burstWindow is how much of its rate the pacer's bucket holds. Calls
// come in bursts (a device's calls wait on its files' fsyncs, and those
// finish together); a bucket of one token loses the tokens of every gap
// between bursts, and the run falls short of the rate it is paced at.
// Held tokens are the account's unused budget too: its bucket, bigger
// than this, filled meanwhile.
const burstWindow = 50 * time.Millisecond

// refill adds the tokens earned since last. The bucket holds 50 ms of the
// rate, or one token under --max-rate (a cap is a cap, at any scale).
func (c *Controller) refill(now time.Time) {
	if math.IsInf(c.rate, 1) {
		c.tokens = 1
	} else if d := now.Sub(c.last); d > 0 {
		size := 1.0
		if c.opts.MaxRate == 0 {
			size = max(1, c.rate*burstWindow.Seconds())
		}
		c.tokens = min(size, c.tokens+d.Seconds()*c.rate)
	}
	c.last = now
}

// lastSecond drops the times older than a second from ts.
func lastSecond(ts []time.Time, now time.Time) []time.Time {
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= time.Second {
		i++
	}
	if i == 0 {
		return ts
	}
	return append(ts[:0], ts[i:]...)
}

// achieved returns the calls started in the last second.
func (c *Controller) achieved(now time.Time) float64 {
	c.grants = lastSecond(c.grants, now)
	return float64(len(c.grants))
}

// increase is how much the rate grows a second, once the account's rate
// is found (BIC's binary search, as TCP BIC and CUBIC grow): while calls
// were throttled in the last second, by the step only (the target may be
// too high); then back to the target (the rate the account took when
// this episode began), closing the gap at four times its size a second
// (98 % of it in a second), at least the step; past it, slowly
// at first (the step), then the farther past the faster (the rate past
// the target doubles in half a second, in longer below 50 calls a
// second), up to half the rate a second,
// since no Throttling there says the account has more to give.
func (c *Controller) increase(now time.Time) float64 {
	if now.Sub(c.lastThr) < time.Second {
		return c.step // still throttled a moment ago: the target may be too high
	}
	gap := c.target - c.rate
	if gap > 0 {
		return max(c.step, 4*gap)
	}
	// The doubling time is longer below 50 calls a second: a cycle of
	// probing, Throttling and cut costs one throttled call, a larger
	// share of a slow account's calls.
	return max(c.step, min(-2*min(1, c.rate/50)*gap, c.rate/2))
}

// measured is the account's rate as its answers show it: the successes a
// second over the last second (over the run so far, at least a quarter
// second, in its first second). While calls are throttled the account's
// bucket is empty, and its successes come exactly at its rate. Since the
// first Throttling of an episode, once a round trip has passed, the
// window starts there: that excludes the burst the account's bucket held
// before, which would make a slow account look fast at the start of a
// run; it counts one success more than seen, so that a short window errs
// high (the next round corrects it). A second, not less: a moment of
// bunched calls, or of a stalled machine, should not set the rate.
func (c *Controller) measured(now time.Time) float64 {
	c.answers = lastSecond(c.answers, now)
	n := len(c.answers)
	window := min(time.Second, max(now.Sub(c.first), 250*time.Millisecond))
	extra := 0
	if since := now.Sub(c.episode); since >= max(c.rtt, time.Millisecond) && since < window {
		window, extra = since, 1
	}
	k := 0
	for k < n && now.Sub(c.answers[n-1-k]) < window {
		k++
	}
	return float64(k+extra) / window.Seconds()
}

func (c *Controller) release(seq uint64, started time.Time, o Outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inflight--
	now := c.clock.Now()
	c.refill(now)
	switch o {
	case OK:
		// The round trip, smoothed as TCP's SRTT, from samples clipped at
		// twice it: one call that took seconds would otherwise make a
		// round (see the cut below) last seconds for a while.
		if d := now.Sub(started); c.rtt == 0 {
			c.rtt = d
		} else {
			c.rtt += (min(d, 2*c.rtt) - c.rtt) / 8
		}
		c.answers = append(c.answers, now)
		if !c.found {
			// Slow start: half a call more for each success, ×1.5 a
			// round, until the first Throttling.
			c.limit = min(c.limit+0.5, float64(c.opts.Ceiling))
		} else if c.oks++; c.oks >= int(c.limit) && int(c.limit) < c.opts.Ceiling {
			c.limit++
			c.oks = 0
		}
		// The rate grows only while it is what holds calls back (TCP's
		// "cwnd-limited"): otherwise it would grow without bound.
		if now.Sub(c.waitedAt) < time.Second && !math.IsInf(c.rate, 1) {
			if c.slow {
				c.rate += 2 // two more for each success: ×3 each second
			} else {
				c.rate += c.increase(now) / c.rate // a second's increase, over the successes of a second
			}
			if c.opts.MaxRate > 0 {
				c.rate = min(c.rate, c.opts.MaxRate)
			}
		}
	case Failed:
		c.failed++
	case Throttled:
		c.throttle++
		c.found = true
		if now.Sub(c.lastThr) >= time.Second {
			c.episode, c.cutIn = now, false
		}
		c.lastThr = now
		if seq <= c.cutAt || started.Sub(c.cutTime) < c.rtt {
			// In flight when the last cut was made, or started within a
			// round trip of it, while the calls sent before it still
			// emptied the account's bucket: it is counted.
			break
		}
		c.cutAt, c.cutTime = c.seq, now
		got := c.measured(now)
		if !(got >= 1) { // and not NaN
			got = 1
		}
		first := !c.cutIn
		c.cutIn = true
		// The target is the rate the account took until now (CUBIC's
		// W_max): the rate climbs back to it fast, so that a moment when
		// someone else took the whole budget (every round of it cutting
		// the rate) costs seconds, not minutes of additive increase. Each further
		// cut of an episode lowers it by 5 %: throttled again and
		// again below it, the account has less to give than it did.
		if was := min(c.rate, got); first {
			c.target = was
		} else {
			c.target = max(was, 0.95*c.target)
		}
		if !math.IsInf(c.rate, 1) {
			c.slow = false // paced calls were throttled: the rate is found
		}
		// At most half the rate a cut: a burst of throttled answers (a
		// stalled machine's calls, bunched) measures little, and cutting
		// to it each round took the rate to nothing for seconds.
		base := min(c.rate, got)
		if !math.IsInf(c.rate, 1) {
			base = max(base, c.rate/2)
		}
		c.rate = max(0.1, c.opts.RateDecrease*base)
		// The step follows the best measure of the episode: its first
		// cut, early in a run, measures the account while the run still
		// ramps up, low.
		if step := max(c.opts.RateStep*got, 0.1); first {
			c.step = step
		} else {
			c.step = max(c.step, step)
		}
		if first {
			// The concurrency limit halves, once an episode, but not
			// below what the new rate needs at the calls' latency
			// (Little's law, with room to spare): throttling is about
			// the rate, which the pacer now sets.
			need := math.Ceil(2 * c.rate * c.rtt.Seconds())
			c.limit = max(1, math.Floor(c.limit/2), min(need, float64(c.opts.Ceiling)))
			c.oks = 0
		}
		c.tokens = min(c.tokens, 0)
	}
	c.achieved(now)
	c.answers = lastSecond(c.answers, now)
	c.signal() // a slot is free, or the rate changed
}
