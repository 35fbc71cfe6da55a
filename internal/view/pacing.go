package view

import (
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"
)

// Pacing is what a progress line says of the run's pacer (iamclient's,
// which paces every IAM call), in the view's own terms.
type Pacing struct {
	Throttled int     // Throttling answers so far
	Failed    int     // attempts that got no answer or a server fault
	Rate      float64 // calls started in the last second
	InFlight  int     // calls in flight
	Limit     int     // the adaptive limit of calls in flight
	Paced     float64 // the calls a second the pacer allows; +Inf when it does not pace
}

// shown reports whether there is something to say: the run was
// throttled, or had to retry.
func (p Pacing) shown() bool { return p.Throttled > 0 || p.Failed > 0 }

// String is "throttled 12 times, now 43 req/s, 16 in flight".
func (p Pacing) String() string {
	var parts []string
	if p.Throttled > 0 {
		parts = append(parts, fmt.Sprintf("throttled %d %s", p.Throttled, plural(p.Throttled, "time", "times")))
	}
	if p.Failed > 0 {
		parts = append(parts, fmt.Sprintf("%d %s failed", p.Failed, plural(p.Failed, "attempt", "attempts")))
	}
	parts = append(parts, fmt.Sprintf("now %.0f req/s", p.Rate), fmt.Sprintf("%d in flight", p.InFlight))
	return strings.Join(parts, ", ")
}

// suffix is what a progress line appends: nothing until the run was
// throttled or retried.
func (p Pacing) suffix() string {
	if !p.shown() {
		return ""
	}
	return "; " + p.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// watchEvery is how often a watched progress line is redrawn.
const watchEvery = 500 * time.Millisecond

// watcher samples the pacer for a progress display until stopped: on a
// terminal it redraws the display's line; elsewhere it writes nothing
// but the --debug lines, if asked.
type watcher struct {
	mu    sync.Mutex
	last  Pacing
	stopc chan struct{}
	done  chan struct{}
}

func (w *watcher) start(tty bool, debug io.Writer, pacing func() Pacing, redraw func()) {
	if pacing == nil || (!tty && debug == nil) || w.stopc != nil {
		return
	}
	w.stopc, w.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(w.done)
		t := time.NewTicker(watchEvery)
		defer t.Stop()
		var logged Pacing
		var loggedAt time.Time
		for {
			select {
			case <-w.stopc:
				return
			case <-t.C:
			}
			p := pacing()
			w.mu.Lock()
			w.last = p
			w.mu.Unlock()
			if tty {
				redraw()
			} else if p.shown() && changed(p, logged) && time.Since(loggedAt) >= time.Second {
				paced := "unpaced"
				if !math.IsInf(p.Paced, 1) {
					paced = fmt.Sprintf("paced at %.1f/s", p.Paced)
				}
				fmt.Fprintf(debug, "mfabulk: debug: pace: %s (limit %d, %s)\n", p, p.Limit, paced)
				logged, loggedAt = p, time.Now()
			}
		}
	}()
}

// changed reports whether the pacer did something since the last line.
func changed(p, was Pacing) bool {
	return p.Throttled != was.Throttled || p.Failed != was.Failed || p.Limit != was.Limit || math.Round(p.Paced) != math.Round(was.Paced)
}

// current is the pacer's state as last sampled.
func (w *watcher) current() Pacing {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// stop ends the sampling, and waits for a redraw in progress.
func (w *watcher) stop() {
	if w.stopc == nil {
		return
	}
	close(w.stopc)
	<-w.done
	w.stopc = nil
}
