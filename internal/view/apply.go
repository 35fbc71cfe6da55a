package view

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mfabulk/mfabulk/internal/apply"
	"github.com/mfabulk/mfabulk/internal/plan"
)

// Progress shows an apply as it goes: on a terminal, one bar redrawn in
// place (done / total, rate, failures, ETA) with failures printed above
// it, and, once IAM throttled the run, what the pacer is doing (see
// Watch); elsewhere, one plain line per device, for logs.
type Progress struct {
	w     io.Writer
	tty   bool
	total int
	start time.Time
	// inFlight counts devices started and not yet settled; it is read by
	// the interrupt handler, from another goroutine.
	inFlight atomic.Int64
	watch    watcher

	mu     sync.Mutex // the counts and the terminal line: Watch redraws from its own goroutine
	done   int
	failed int
}

// NewProgress starts a progress display for total changes.
func NewProgress(w io.Writer, tty bool, total int) *Progress {
	return &Progress{w: w, tty: tty, total: total, start: time.Now()}
}

// Event records one apply event; apply calls it from one goroutine at a
// time.
func (p *Progress) Event(e apply.Event) {
	if e.Kind == apply.Started {
		p.inFlight.Add(1)
		return
	}
	p.inFlight.Add(-1)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if e.Kind == apply.Failed {
		p.failed++
	}
	if !p.tty {
		Event(p.w, e)
		return
	}
	if e.Kind == apply.Failed {
		fmt.Fprintf(p.w, "\r\x1b[K")
		Event(p.w, e)
	}
	p.draw()
}

// Watch shows, until Done, what the run's pacer is doing, from pacing:
// on a terminal the bar is redrawn twice a second with "throttled N
// times, now R req/s, F in flight" once IAM throttled the run, so that a
// run held back by throttling or retries is seen to be, not frozen.
// Elsewhere it writes nothing, unless debug is not nil (--debug): then a
// debug line to it whenever the pacer's state changed, at most once a
// second.
func (p *Progress) Watch(pacing func() Pacing, debug io.Writer) {
	p.watch.start(p.tty, debug, pacing, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.done > 0 || p.watch.current().shown() {
			p.draw()
		}
	})
}

func (p *Progress) draw() {
	const width = 30
	filled := width
	if p.total > 0 {
		filled = width * p.done / p.total
	}
	elapsed := time.Since(p.start).Seconds()
	rate := float64(p.done) / max(elapsed, 0.001)
	eta := "-"
	if rate > 0 && p.done < p.total {
		eta = (time.Duration(float64(p.total-p.done)/rate) * time.Second).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r\x1b[K[%s%s] %d/%d, %d failed, %.1f/s, ETA %s%s",
		strings.Repeat("=", filled), strings.Repeat(" ", width-filled), p.done, p.total, p.failed, rate, eta, p.watch.current().suffix())
}

// InFlight returns how many devices are started and not yet settled. It
// is safe to call from any goroutine.
func (p *Progress) InFlight() int { return int(p.inFlight.Load()) }

// Interrupted tells the user, on w, that a first interrupt was received:
// devices in flight are finishing, and a second one stops at once.
func (p *Progress) Interrupted(w io.Writer) {
	prefix := "\n"
	if p.tty {
		prefix = "\r\x1b[K"
	}
	fmt.Fprintf(w, "%sInterrupt received; finishing %d device(s) in flight; press Ctrl-C again to stop now.\n", prefix, p.InFlight())
}

// Done stops Watch and ends the bar's line.
func (p *Progress) Done() {
	p.watch.stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && (p.done > 0 || p.watch.current().shown()) {
		fmt.Fprintln(p.w)
	}
}

// Event writes one line for an apply event, for logs and non-terminals.
func Event(w io.Writer, e apply.Event) {
	o := e.Outcome
	if e.Kind == apply.Failed {
		fmt.Fprintf(w, "%s: failed: %s\n", outcomeDevice(o), errText(o.Err))
		return
	}
	device, serial := outcomeDevice(o), value(o.Serial)
	switch o.Action {
	case plan.Create:
		fmt.Fprintf(w, "%s: created %s, secret sealed to %s%s\n", device, serial, value(rel(o.Outfile)), enabledFor(o))
	case plan.Replace, plan.Assign:
		old := ""
		if o.OldOutfile != "" {
			old = " (old outfile kept as " + value(rel(o.OldOutfile)) + ")"
		}
		fmt.Fprintf(w, "%s: %sreplaced, now %s, secret sealed to %s%s%s\n", device, deactivatedFor(o), serial, value(rel(o.Outfile)), old, enabledFor(o))
	case plan.UpdateTags:
		fmt.Fprintf(w, "%s: tags updated\n", device)
	case plan.Delete:
		kept := ""
		if o.OldOutfile != "" {
			kept = " (its outfile kept as " + value(rel(o.OldOutfile)) + ")"
		}
		fmt.Fprintf(w, "%s: %sdeleted %s%s\n", device, deactivatedFor(o), serial, kept)
	case plan.Settle:
		fmt.Fprintf(w, "%s: outfile %s recorded as %s's\n", device, value(rel(o.Outfile)), serial)
	case plan.Reseal:
		fmt.Fprintf(w, "%s: outfile %s re-sealed to the manifest's recipients\n", device, value(rel(o.Outfile)))
	}
}

// ApplySummary writes the closing lines of an apply: counts per action,
// then every failure with its AWS error code and a hint.
func ApplySummary(w io.Writer, r apply.Result) {
	counts := map[plan.Action]int{}
	var failed, skipped, enabled int
	var notStarted []string
	for _, o := range r.Outcomes {
		switch {
		case errors.Is(o.Err, apply.ErrNotStarted):
			notStarted = append(notStarted, outcomeDevice(o))
		case o.NotAttempted:
			skipped++
		case o.Err != nil:
			failed++
		default:
			counts[o.Action]++
		}
		if !o.Enabled.IsZero() {
			enabled++
		}
	}
	verb := "complete"
	if r.Interrupted || len(notStarted) > 0 {
		verb = "interrupted"
	}
	fmt.Fprintf(w, "\nApply %s: %d created, ", verb, counts[plan.Create])
	for _, a := range []struct {
		action plan.Action
		verb   string
	}{{plan.Replace, "replaced"}, {plan.UpdateTags, "retagged"}, {plan.Assign, "reissued to assign"}, {plan.Delete, "deleted"}, {plan.Settle, "recorded"}, {plan.Reseal, "re-sealed"}} {
		if counts[a.action] > 0 {
			fmt.Fprintf(w, "%d %s, ", counts[a.action], a.verb)
		}
	}
	if enabled > 0 {
		fmt.Fprintf(w, "%d enabled for their users, ", enabled)
	}
	fmt.Fprintf(w, "%d failed", failed)
	if skipped > 0 {
		fmt.Fprintf(w, ", %d not attempted (device quota reached)", skipped)
	}
	if len(notStarted) > 0 {
		fmt.Fprintf(w, ", %d not started", len(notStarted))
	}
	fmt.Fprintln(w, ".")
	if len(notStarted) > 0 {
		fmt.Fprintf(w, "\nNot started (nothing was done for them; run apply again): %s\n", compactList(notStarted, 20))
	}
	if failed+skipped == 0 {
		return
	}
	fmt.Fprintf(w, "\nFailures:\n")
	hints := map[string]bool{}
	for _, o := range r.Failed() {
		if errors.Is(o.Err, apply.ErrNotStarted) {
			continue
		}
		code := o.Code
		if code == "" {
			code = "-"
		}
		fmt.Fprintf(w, "  %s [%s]: %s\n", outcomeDevice(o), value(code), errText(o.Err))
		if h := hint(o); h != "" {
			hints[h] = true
		}
	}
	var lines []string
	for h := range hints {
		lines = append(lines, h)
	}
	sort.Strings(lines)
	for _, h := range lines {
		fmt.Fprintf(w, "hint: %s\n", h)
	}
}

// compactList joins names, showing at most max of them and the count of
// the rest, so that an interrupt of a large apply prints one line.
func compactList(names []string, limit int) string {
	if len(names) <= limit {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:limit], ", "), len(names)-limit)
}

func hint(o apply.Outcome) string {
	if o.User != "" && o.Serial != "" && o.Enabled.IsZero() {
		// The device exists with its outfile; enabling it failed.
		switch o.Code {
		case "LimitExceeded":
			return "a user has " + fmt.Sprint(plan.MaxUserDevices) + " MFA devices already, IAM's limit: deactivate one of theirs, or name another user; the next apply assigns the device"
		case "NoSuchEntity":
			return "a user was deleted since plan: run plan again; the device keeps its outfile"
		case "EntityAlreadyExists":
			return "a device was assigned by someone else meanwhile: run plan, which shows who has it"
		}
	}
	if h := CodeHint(o.Code, o.Action); h != "" {
		return h
	}
	if o.SeedLost {
		return "some devices may exist without their secret: run plan, which proposes to replace them"
	}
	return ""
}

// RefreshProgress shows plan's reading of the account on a terminal, once
// it has taken more than a second: quick refreshes stay silent.
type RefreshProgress struct {
	w     io.Writer
	tty   bool
	start time.Time
	watch watcher

	mu          sync.Mutex
	done, total int
	shown       bool
}

// NewRefreshProgress starts timing a refresh.
func NewRefreshProgress(w io.Writer, tty bool) *RefreshProgress {
	return &RefreshProgress{w: w, tty: tty, start: time.Now()}
}

// Update redraws the count.
func (r *RefreshProgress) Update(done, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done, r.total = done, total
	r.draw()
}

// Watch shows, until Done, what the run's pacer is doing, as
// [Progress.Watch] does: while IAM throttles the reads, the line says so
// even before the first tag read.
func (r *RefreshProgress) Watch(pacing func() Pacing, debug io.Writer) {
	r.watch.start(r.tty, debug, pacing, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.draw()
	})
}

func (r *RefreshProgress) draw() {
	pace := r.watch.current()
	if !r.tty || time.Since(r.start) < time.Second || (r.total == 0 && !pace.shown()) {
		return
	}
	r.shown = true
	if r.total == 0 {
		fmt.Fprintf(r.w, "\r\x1b[KReading the account%s", pace.suffix())
		return
	}
	fmt.Fprintf(r.w, "\r\x1b[KRefreshing: read the tags of %d/%d devices%s", r.done, r.total, pace.suffix())
}

// Done stops Watch and clears the line.
func (r *RefreshProgress) Done() {
	r.watch.stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.shown {
		fmt.Fprint(r.w, "\r\x1b[K")
	}
}

// deactivatedFor says whom the old device was deactivated for, if anyone.
func deactivatedFor(o apply.Outcome) string {
	if o.Deactivated == "" {
		return ""
	}
	return "deactivated for user " + value(o.Deactivated) + ", "
}

// enabledFor says whom a device was enabled for, if anyone.
func enabledFor(o apply.Outcome) string {
	if o.Enabled.IsZero() {
		return ""
	}
	return ", enabled for user " + value(o.User)
}
