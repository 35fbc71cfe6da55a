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
	"strings"
	"sync"
	"time"

	"github.com/mfabulk/mfabulk/internal/atomicfile"
	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/seal"
)

// API is what apply needs from IAM. Its errors say what they mean for a
// device through internal/device: [device.ErrorCode] and [device.Refused]
// read IAM's answer, and a create's error wraps [device.ErrSeedLost] or
// [device.ErrMaybeCommitted] when an earlier attempt may have created the
// device; a create that fails without being refused may have taken effect.
type API interface {
	Create(ctx context.Context, name, path string, tags map[string]string) (*device.Created, error)
	Delete(ctx context.Context, serial string) error
	ListTags(ctx context.Context, serial string) (map[string]string, error)
	Tag(ctx context.Context, serial string, tags map[string]string) error
	Untag(ctx context.Context, serial string, keys []string) error
	// Enable assigns a device to an IAM user with two consecutive codes.
	Enable(ctx context.Context, user, serial, code1, code2 string) error
	// UserDevices lists the serials of every MFA device enabled for a
	// user, virtual, hardware or FIDO (ListMFADevices); NoSuchEntity when
	// the user does not exist.
	UserDevices(ctx context.Context, user string) ([]string, error)
}

// Options tune a run.
type Options struct {
	// Parallelism is how many devices are worked on at once; 0 means 8.
	// It bounds the goroutines: the API client paces the calls themselves
	// (iamclient's pacer, whose ceiling is the same number).
	Parallelism int
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
	// CiphertextSHA256 is the hex SHA-256 of the outfile's bytes, and
	// Recipients the fingerprints of the recipients it was sealed to (see
	// seal.Recipients), both set once the outfile is written.
	CiphertextSHA256 string
	Recipients       []string
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
	// User is the IAM user the device was to be enabled for, and Enabled
	// when that succeeded; a failed enable leaves the device with its
	// durable outfile, Err set, and the next plan proposing assign.
	User    string
	Enabled time.Time
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

// job is a create or replace with its recipients already parsed and its
// outfile folder open.
type job struct {
	change     plan.Change
	recipients seal.Recipients
	dir        *atomicfile.Dir // the outfile's folder, held open
	name       string          // the outfile's name in dir
	// temps: the folder held temporary files of the outfile when apply
	// listed it, left by a run killed while writing it.
	temps bool
}

// Run executes the plan's changes. It returns a
// *PreflightError, and makes no call, when the plan cannot be applied
// safely.
func Run(ctx context.Context, api API, p plan.Plan, opts Options) (Result, error) {
	folders, existing := atomicfile.NewFolders(true), atomicfile.NewFolders(false)
	// The folders are held open only to reach files relative to them; every
	// write through them was synced before this returns, so closing them
	// can lose nothing, and its error would tell the run nothing to act on.
	defer func() { _ = folders.Close() }()
	defer func() { _ = existing.Close() }()
	jobs, err := preflight(p, folders, existing)
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

// preflight checks everything that can be checked without AWS, and opens
// every outfile folder: from here on, outfiles and intents are reached only
// through these open folders, so a folder renamed or swapped for a link
// during the run cannot redirect a write.
func preflight(p plan.Plan, folders, existing *atomicfile.Folders) ([]job, error) {
	var problems []error
	var pruned map[string]job
	if p.Count(plan.Delete) > 0 {
		var err error
		if pruned, err = outfilesBySerial(p, existing); err != nil {
			problems = append(problems, err)
		}
	}
	if p.Applyable() != nil { // the rule is plan's; here, each device's reason
		for _, c := range p.Filter(plan.Conflict) {
			problems = append(problems, fmt.Errorf("device %q conflicts: %s", c.Desired.Name, c.Reason))
		}
	}
	var jobs []job
	probed := map[*atomicfile.Dir]bool{}
	// Each folder is listed once, for the temporary files killed runs
	// left: listing it for each device would cost O(devices²).
	temps := map[*atomicfile.Dir]map[string]bool{}
	// Devices share recipient lists (the manifest builds one per distinct
	// set): parse each list once, not once per device.
	type list struct {
		first *string
		n     int
	}
	parsed := map[list]seal.Recipients{}
	for _, c := range p.Changes {
		switch c.Action {
		case plan.UpdateTags:
			jobs = append(jobs, job{change: c})
			continue
		case plan.Delete:
			j := pruned[c.Existing.Serial]
			j.change = c
			jobs = append(jobs, j)
			continue
		case plan.Settle:
			base, rel, name := c.Desired.Location()
			dir, err := folders.Open(base, rel)
			if err != nil {
				problems = append(problems, fmt.Errorf("opening the outfile folder: %w", err))
				continue
			}
			// A run killed between linking the outfile and removing its
			// temporary name left the outfile with two links, which no
			// record is bound to: record removes the temporary name first.
			if _, ok := temps[dir]; !ok {
				if temps[dir], err = tempsIn(dir); err != nil {
					problems = append(problems, err)
				}
			}
			jobs = append(jobs, job{change: c, dir: dir, name: name, temps: temps[dir][name]})
			continue
		case plan.Create, plan.Replace, plan.Assign:
		default:
			continue
		}
		d := c.Desired
		var key list
		if len(d.Recipients) > 0 {
			key = list{&d.Recipients[0], len(d.Recipients)}
		}
		rs, ok := parsed[key]
		if !ok || key.first == nil {
			var err error
			if rs, err = seal.ParseRecipients(d.Recipients); err != nil {
				problems = append(problems, fmt.Errorf("parsing the recipients of device %q: %w", d.Name, err))
			} else if key.first != nil {
				parsed[key] = rs
			}
		}
		base, rel, name := d.Location()
		dir, err := folders.Open(base, rel)
		if err != nil {
			problems = append(problems, fmt.Errorf("opening the outfile folder: %w", err))
			continue
		}
		if !probed[dir] {
			probed[dir] = true
			if err := dir.Probe(); err != nil {
				problems = append(problems, err)
			}
			if _, ok := temps[dir]; !ok {
				if temps[dir], err = tempsIn(dir); err != nil {
					problems = append(problems, err)
				}
			}
		}
		if exists, err := dir.Exists(name); err != nil {
			problems = append(problems, fmt.Errorf("checking the outfile of device %q: %w", d.Name, err))
		} else if exists && c.Action == plan.Create && !c.MoveAside {
			problems = append(problems, fmt.Errorf("device %q: outfile %s already exists; mfabulk never overwrites an outfile", d.Name, d.Outfile))
		}
		jobs = append(jobs, job{change: c, recipients: rs, dir: dir, name: name, temps: temps[dir][name]})
	}
	if len(problems) > 0 {
		return nil, &PreflightError{Problems: dedupe(problems)}
	}
	return jobs, nil
}

// tempsIn returns the names whose temporary files (atomicfile.IsTemp) the
// folder holds.
func tempsIn(dir *atomicfile.Dir) (map[string]bool, error) {
	names, err := dir.Names()
	if err != nil {
		return nil, fmt.Errorf("listing the outfile folder %s: %w", dir.Path(), err)
	}
	out := map[string]bool{}
	for _, f := range names {
		if i := strings.LastIndex(f, ".tmp-"); i > 1 && f[0] == '.' && atomicfile.IsTemp(f, f[1:i]) {
			out[f[1:i]] = true
		}
	}
	return out, nil
}

// outfilesBySerial finds, through the records in the manifest's outfile
// folders, the outfile of each device this account holds, so that pruning
// a device can move its outfile aside.
func outfilesBySerial(p plan.Plan, folders *atomicfile.Folders) (map[string]job, error) {
	out := map[string]job{}
	seen := map[*atomicfile.Dir]bool{}
	for _, c := range p.Changes {
		if c.Desired == nil {
			continue
		}
		base, rel, _ := c.Desired.Location()
		dir, err := folders.Open(base, rel)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("opening the outfile folder: %w", err)
		}
		if seen[dir] {
			continue
		}
		seen[dir] = true
		names, err := dir.Names()
		if err != nil {
			return nil, fmt.Errorf("listing the outfile folder %s: %w", dir.Path(), err)
		}
		for _, n := range names {
			name, ok := strings.CutSuffix(strings.TrimPrefix(n, "."), ".id")
			if !ok || !strings.HasPrefix(n, ".") {
				continue
			}
			rec, err := journal.ReadRecord(dir, name)
			if err != nil {
				return nil, fmt.Errorf("looking up the device of outfile %s: %w", filepath.Join(dir.Path(), name), err)
			}
			if rec != nil && rec.Account == p.Account {
				out[rec.Serial] = job{dir: dir, name: name}
			}
		}
	}
	return out, nil
}

// dedupe drops repeated problems: a bad folder is one problem, not one per
// device in it.
func dedupe(errs []error) []error {
	seen := map[string]bool{}
	var out []error
	for _, e := range errs {
		if !seen[e.Error()] {
			seen[e.Error()] = true
			out = append(out, e)
		}
	}
	return out
}
