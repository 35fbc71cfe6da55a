// Package apply carries out a plan: it creates the missing devices
// concurrently and seals each one's secret into its outfile.
//
// Call [Run] with a [plan.Plan]. It checks everything it can before the
// first call to AWS (no conflicts, every recipient parses, every outfile is
// new and its folder writable), so a bad manifest or folder changes nothing
// in the account. After that, one device's failure does not stop the
// others; progress is reported as [Event]s and the outcome of every device
// is in the [Result].
package apply

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"filippo.io/age"

	"github.com/mfabulk/mfabulk/atomicfile"
	"github.com/mfabulk/mfabulk/iamclient"
	"github.com/mfabulk/mfabulk/plan"
	"github.com/mfabulk/mfabulk/seal"
)

// API is what apply needs from IAM.
type API interface {
	Create(ctx context.Context, name, path string, tags map[string]string) (*iamclient.Created, error)
	Delete(ctx context.Context, serial string) error
	Tag(ctx context.Context, serial string, tags map[string]string) error
	Untag(ctx context.Context, serial string, keys []string) error
}

// Options tune a run.
type Options struct {
	Parallelism int         // creates in flight at once; 0 means 8
	OnEvent     func(Event) // called from one goroutine at a time; may be nil
	// Stop, once closed, starts no further device while letting those in
	// flight finish and write their outfiles: the soft stop of a first
	// Ctrl-C. Cancelling Run's context is the hard stop: calls in flight
	// are abandoned and their intents left for the next plan. A device
	// not started gets no intent, and ErrNotStarted as its outcome.
	Stop <-chan struct{}
}

// ErrNotStarted is the error of a device that Run did not start because
// it was stopped (see [Options.Stop]) or its context was cancelled first.
// Nothing was done for such a device: no intent, no call.
var ErrNotStarted = errors.New("not started: apply was interrupted")

// EventKind says what happened to a device.
type EventKind int

const (
	// Started: the create call is about to be made.
	Started EventKind = iota
	// Created: the device exists and its outfile is durable.
	Created
	// Failed: the device could not be created, or was rolled back.
	Failed
)

// Event reports progress on one device.
type Event struct {
	Kind    EventKind
	Outcome Outcome
}

// Outcome is what happened to one device.
type Outcome struct {
	Device  string
	Action  plan.Action
	Serial  string // set once IAM created the device
	Outfile string
	// OldOutfile is where a replaced device's previous outfile was moved.
	OldOutfile string
	Err        error  // nil on success
	Code       string // AWS error code of Err, if any
	// RolledBack is set when the device was created but its outfile could
	// not be written, and the device was deleted again.
	RolledBack bool
	// SeedLost is set when the device may exist without a durable outfile;
	// its intent stays in the journal and the next plan proposes to
	// replace it.
	SeedLost bool
	// NotAttempted is set for devices skipped once the account's device
	// quota was reached, or not started because the run was interrupted
	// (then Err wraps ErrNotStarted).
	NotAttempted bool
}

// Result lists every device's outcome, in plan order.
type Result struct {
	Outcomes []Outcome
	// Interrupted is set when Stop was closed or the context cancelled
	// before Run returned, even if every device had already started.
	Interrupted bool
}

// Failed returns the outcomes that failed.
func (r Result) Failed() []Outcome {
	var out []Outcome
	for _, o := range r.Outcomes {
		if o.Err != nil {
			out = append(out, o)
		}
	}
	return out
}

// PreflightError is returned when a check before the first AWS call fails;
// the account was not touched.
type PreflightError struct {
	Problems []error
}

func (e *PreflightError) Error() string {
	return fmt.Sprintf("%d problem(s) found before any change was made: %v", len(e.Problems), errors.Join(e.Problems...))
}

// job is a create or replace with its recipients already parsed.
type job struct {
	change     plan.Change
	recipients []age.Recipient
}

// Run executes the plan's changes. It returns a
// *PreflightError, and makes no call, when the plan cannot be applied
// safely.
func Run(ctx context.Context, api API, p plan.Plan, opts Options) (Result, error) {
	jobs, err := preflight(p)
	if err != nil {
		return Result{}, err
	}
	limit := opts.Parallelism
	if limit <= 0 {
		limit = 8
	}
	var mu sync.Mutex
	emit := func(k EventKind, o Outcome) {
		if opts.OnEvent != nil {
			mu.Lock()
			defer mu.Unlock()
			opts.OnEvent(Event{Kind: k, Outcome: o})
		}
	}
	r := runner{api: api, plan: p}
	res := Result{Outcomes: make([]Outcome, len(jobs))}
	// A slot is taken before a device starts, and the stop is checked once
	// the slot is ours: a device whose turn comes after an interrupt is
	// never started, so it gets no intent.
	slots := make(chan struct{}, limit)
	stopped := func() bool {
		select {
		case <-opts.Stop:
			return true
		case <-ctx.Done():
			return true
		default:
			return false
		}
	}
	var wg sync.WaitGroup
	for i, j := range jobs {
		select {
		case slots <- struct{}{}:
		case <-opts.Stop:
		case <-ctx.Done():
		}
		if stopped() {
			for k := i; k < len(jobs); k++ {
				c := jobs[k].change
				res.Outcomes[k] = Outcome{Device: c.Name, Action: c.Action, NotAttempted: true,
					Err: fmt.Errorf("device %q %w", c.Name, ErrNotStarted)}
				if c.Desired != nil {
					res.Outcomes[k].Outfile = c.Desired.Outfile
				}
			}
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			emit(Started, Outcome{Device: j.change.Name, Action: j.change.Action})
			o := r.dispatch(ctx, j)
			res.Outcomes[i] = o
			if o.Err != nil {
				emit(Failed, o)
			} else {
				emit(Created, o)
			}
		})
	}
	wg.Wait()
	res.Interrupted = stopped()
	return res, nil
}

// preflight checks everything that can be checked without AWS.
func preflight(p plan.Plan) ([]job, error) {
	var problems []error
	for _, c := range p.Filter(plan.Conflict) {
		problems = append(problems, fmt.Errorf("device %q conflicts: %s", c.Desired.Name, c.Reason))
	}
	var jobs []job
	dirs := map[string]bool{}
	for _, c := range p.Changes {
		switch c.Action {
		case plan.UpdateTags, plan.Delete:
			jobs = append(jobs, job{change: c})
			continue
		case plan.Create, plan.Replace:
		default:
			continue
		}
		d := c.Desired
		rs, err := seal.ParseRecipients(d.Recipients)
		if err != nil {
			problems = append(problems, fmt.Errorf("device %q: %w", d.Name, err))
		}
		if _, err := os.Lstat(d.Outfile); err == nil && c.Action == plan.Create {
			problems = append(problems, fmt.Errorf("device %q: outfile %s already exists; mfabulk never overwrites an outfile", d.Name, d.Outfile))
		}
		dir := filepath.Dir(d.Outfile)
		if !dirs[dir] {
			dirs[dir] = true
			if err := atomicfile.EnsureDir(dir); err != nil {
				problems = append(problems, fmt.Errorf("outfile folder %s: %w", dir, err))
			}
		}
		jobs = append(jobs, job{change: c, recipients: rs})
	}
	if len(problems) > 0 {
		return nil, &PreflightError{Problems: problems}
	}
	return jobs, nil
}
