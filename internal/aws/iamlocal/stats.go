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
type Second struct {
	Start     time.Time
	Served    int
	Throttled int
	Created   int
}

// perSecond counts answers by the second (since the server started) in
// which they were sent. It has its own lock, held only to add one.
type perSecond struct {
	mu    sync.Mutex
	start time.Time
	now   func() time.Time
	secs  []Second
}

func newPerSecond(now func() time.Time) *perSecond {
	return &perSecond{start: now(), now: now}
}

func (p *perSecond) add(throttled, created bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := int(p.now().Sub(p.start) / time.Second)
	if i < 0 {
		i = 0
	}
	for len(p.secs) <= i {
		p.secs = append(p.secs, Second{Start: p.start.Add(time.Duration(len(p.secs)) * time.Second)})
	}
	if throttled {
		p.secs[i].Throttled++
	} else {
		p.secs[i].Served++
	}
	if created {
		p.secs[i].Created++
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
