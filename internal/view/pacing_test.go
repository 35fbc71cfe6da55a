package view

import (
	"bytes"
	"math"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mfabulk/mfabulk/internal/apply"
	"github.com/mfabulk/mfabulk/internal/plan"
)

// lockedBuffer is a bytes.Buffer safe for the watcher's goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestPacingLine(t *testing.T) {
	for _, tc := range []struct {
		p    Pacing
		want string
	}{
		{Pacing{Rate: 40, InFlight: 3}, ""},
		{Pacing{Throttled: 12, Rate: 43.4, InFlight: 16}, "; throttled 12 times, now 43 req/s, 16 in flight"},
		{Pacing{Throttled: 1, Failed: 1, Rate: 2, InFlight: 1}, "; throttled 1 time, 1 attempt failed, now 2 req/s, 1 in flight"},
		{Pacing{Failed: 3, Rate: 0, InFlight: 0}, "; 3 attempts failed, now 0 req/s, 0 in flight"},
	} {
		if got := tc.p.suffix(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.p, got, tc.want)
		}
	}
}

// TestWatchShowsThrottling: on a terminal, the bar is redrawn with the
// pacer's state while no device finishes (a run held back by throttling
// is not frozen); in a pipe nothing is added, unless --debug, whose lines
// go to the debug writer. On synctest's clock: no real waiting.
func TestWatchShowsThrottling(t *testing.T) {
	throttled := Pacing{Throttled: 12, Rate: 43, InFlight: 16, Limit: 32, Paced: 45.2}
	synctest.Test(t, func(t *testing.T) {
		var out lockedBuffer
		p := NewProgress(&out, true, 10)
		var mu sync.Mutex
		state := Pacing{Rate: 40, InFlight: 4, Limit: 8, Paced: math.Inf(1)}
		p.Watch(func() Pacing { mu.Lock(); defer mu.Unlock(); return state }, nil)
		time.Sleep(2 * watchEvery)
		synctest.Wait()
		if out.String() != "" {
			t.Errorf("drawn before anything happened: %q", out.String())
		}
		mu.Lock()
		state = throttled
		mu.Unlock()
		time.Sleep(2 * watchEvery)
		synctest.Wait()
		if got := out.String(); !strings.Contains(got, "\r\x1b[K[                              ] 0/10, 0 failed, 0.0/s, ETA -; throttled 12 times, now 43 req/s, 16 in flight") {
			t.Errorf("terminal: %q", got)
		}
		p.Event(apply.Event{Kind: apply.Created, Outcome: apply.Outcome{Device: "a", Action: plan.Create}})
		p.Done()
		if got := out.String(); !strings.HasSuffix(got, "] 1/10, 0 failed, 0.5/s, ETA 18s; throttled 12 times, now 43 req/s, 16 in flight\n") {
			t.Errorf("after a device: %q", got)
		}
		n := len(out.String())
		time.Sleep(2 * watchEvery)
		if len(out.String()) != n {
			t.Errorf("drawn after Done: %q", out.String()[n:])
		}
	})
	synctest.Test(t, func(t *testing.T) {
		var out, debug lockedBuffer
		p := NewProgress(&out, false, 10)
		p.Watch(func() Pacing { return throttled }, nil)
		time.Sleep(4 * watchEvery)
		p.Done()
		q := NewProgress(&out, false, 10)
		q.Watch(func() Pacing { return throttled }, &debug)
		time.Sleep(4 * watchEvery)
		q.Done()
		if out.String() != "" {
			t.Errorf("pipe: %q", out.String())
		}
		if got := debug.String(); got != "mfabulk: debug: pace: throttled 12 times, now 43 req/s, 16 in flight (limit 32, paced at 45.2/s)\n" {
			t.Errorf("--debug, once while nothing changes: %q", got)
		}
	})
}

// TestRefreshWatch: plan's line says it is throttled even before the first
// tag is read, once a second has passed.
func TestRefreshWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out lockedBuffer
		r := NewRefreshProgress(&out, true)
		r.Watch(func() Pacing { return Pacing{Throttled: 3, Rate: 2, InFlight: 1} }, nil)
		time.Sleep(3 * watchEvery)
		synctest.Wait()
		r.Update(1, 5)
		r.Done()
		got := out.String()
		if !strings.Contains(got, "\r\x1b[KReading the account; throttled 3 times, now 2 req/s, 1 in flight") ||
			!strings.Contains(got, "\r\x1b[KRefreshing: read the tags of 1/5 devices; throttled 3 times, now 2 req/s, 1 in flight") ||
			!strings.HasSuffix(got, "\r\x1b[K") {
			t.Errorf("refresh: %q", got)
		}
	})
}
