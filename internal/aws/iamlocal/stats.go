package iamlocal

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Second is what the endpoint answered during one second of its life:
// Served requests got an answer other than Throttling (a result or another
// error), Throttled ones got Throttling "Rate exceeded", and Created counts
// the served CreateVirtualMFADevice calls that created a device.
//
// Arrived counts the requests that arrived in the second, whatever their
// answer and whenever it was sent (latency delays it): the rate a client
// sends at, for tests of its pacing.
type Second struct {
	Start     time.Time
	Served    int
	Throttled int
	Created   int
	Arrived   int
}

// perSecond counts answers by the second (since the server started) in
// which they were sent. It has its own lock, held only to add one.
type perSecond struct {
	mu             sync.Mutex
	start          time.Time
	now            func() time.Time
	secs           []Second
	inflight, peak int // requests being served, and the most at once
}

func newPerSecond(now func() time.Time) *perSecond {
	return &perSecond{start: now(), now: now}
}

// second returns the count of the current second; p.mu is held.
func (p *perSecond) second() *Second {
	i := int(p.now().Sub(p.start) / time.Second)
	if i < 0 {
		i = 0
	}
	for len(p.secs) <= i {
		p.secs = append(p.secs, Second{Start: p.start.Add(time.Duration(len(p.secs)) * time.Second)})
	}
	return &p.secs[i]
}

// arrive counts a request as it arrives, and as in flight until its
// answer is counted by add or it is dropped.
func (p *perSecond) arrive() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.second().Arrived++
	p.inflight++
	p.peak = max(p.peak, p.inflight)
}

// leave counts a request's end: answered, or dropped.
func (p *perSecond) leave() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inflight--
}

func (p *perSecond) add(throttled, created bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	sec := p.second()
	if throttled {
		sec.Throttled++
	} else {
		sec.Served++
	}
	if created {
		sec.Created++
	}
}

func (p *perSecond) snapshot() []Second {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Second(nil), p.secs...)
}

// PerSecond returns the served and throttled answers of every second since
// the server was made, up to the last second in which it answered (seconds
// without a request are there, with zero counts).
func (s *Server) PerSecond() []Second {
	return s.stats.snapshot()
}

// PeakInFlight returns the most requests the server was serving at once,
// from their arrival to their answer (or their connection's end): the
// concurrency a client reached, for tests of its limit.
func (s *Server) PeakInFlight() int {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	return s.stats.peak
}

// WritePerSecondCSV writes PerSecond as CSV: a header line, then one line
// a second with its offset from the server's start in seconds, its start
// as Unix time in milliseconds, and the served, throttled and created
// counts.
func (s *Server) WritePerSecondCSV(w io.Writer) error {
	if _, err := fmt.Fprintln(w, "second,start_unix_ms,served,throttled,created"); err != nil {
		return err
	}
	for i, sec := range s.PerSecond() {
		if _, err := fmt.Fprintf(w, "%d,%d,%d,%d,%d\n", i, sec.Start.UnixMilli(), sec.Served, sec.Throttled, sec.Created); err != nil {
			return err
		}
	}
	return nil
}
