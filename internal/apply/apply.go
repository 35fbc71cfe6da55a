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
	"sync"
	"time"

	"filippo.io/age"

	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/seal"
	"github.com/mfabulk/mfabulk/internal/store"
	"github.com/mfabulk/mfabulk/internal/store/stores"
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
	// Deactivate removes a device from the user it is enabled for
	// (DeactivateMFADevice), the step before deleting it; NoSuchEntity
	// when it is not enabled for that user.
	Deactivate(ctx context.Context, user, serial string) error
	// EnabledFor reports whether serial is enabled for user, and since
	// when (ListMFADevices): a device is deactivated only while it is
	// still the one the plan saw enabled.
	EnabledFor(ctx context.Context, user, serial string) (since time.Time, enabled bool, err error)
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
	// Store keeps the devices' outfiles, records and intents
	// (internal/store/stores); nil: the folders next to the manifests.
	Store Store
	// Identities open the outfiles of the plan's re-seals (apply -i);
	// without any, re-seals are left pending (ErrNoIdentity).
	Identities []age.Identity
}

// Store is what apply needs of the devices' store (see store.Backend):
// its preflight, each device's files, and the files of the devices
// pruning removes.
type Store interface {
	Check(ctx context.Context, devices []manifest.Device, write bool) []store.Problem
	Files(ctx context.Context, d manifest.Device) (store.Files, error)
	Owned(ctx context.Context, account string, devices []manifest.Device) (map[string]store.Files, error)
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
	// Deactivated is the user the old device was deactivated for, once
	// it was (a replace of a lost phone, the prune of a leaver's device).
	Deactivated string
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

// job is a change with its recipients already parsed and its device's
// files in the store (nil for a retag, and for a prune whose outfile no
// record names).
type job struct {
	change     plan.Change
	recipients seal.Recipients
	files      store.Files
}

// Run executes the plan's changes. It returns a
// *PreflightError, and makes no call, when the plan cannot be applied
// safely.
func Run(ctx context.Context, api API, p plan.Plan, opts Options) (Result, error) {
	st := opts.Store
	if st == nil {
		set := stores.New(stores.Options{})
		// The folders are held open only to reach files relative to them;
		// every write through them was synced before this returns, so
		// closing them can lose nothing, and its error would tell the run
		// nothing to act on.
		defer func() { _ = set.Close() }()
		st = set
	}
	if len(opts.Identities) == 0 {
		p = WithoutReseals(p)
	}
	jobs, err := preflight(ctx, p, st)
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
	r := runner{api: api, plan: p, identities: opts.Identities}
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

// WithoutReseals is p with its re-seals left out: what a run given no
// identity (apply -i) carries out. They stay pending, for the next plan.
func WithoutReseals(p plan.Plan) plan.Plan {
	changes := make([]plan.Change, 0, len(p.Changes))
	for _, c := range p.Changes {
		if c.Action != plan.Reseal {
			changes = append(changes, c)
		} else if len(c.Tags) > 0 {
			c.Action = plan.UpdateTags // its tags are still made the manifest's
			changes = append(changes, c)
		}
	}
	p.Changes = changes
	return p
}

// preflight checks everything that can be checked without AWS, and opens
// every device's files in the store: from here on, outfiles and intents
// are reached only through them (in a folder, through the open folder, so
// that a folder renamed or swapped for a link during the run cannot
// redirect a write).
func preflight(ctx context.Context, p plan.Plan, st Store) ([]job, error) {
	var problems []error
	var pruned map[string]store.Files
	if p.Count(plan.Delete) > 0 {
		var devices []manifest.Device
		for _, c := range p.Changes {
			if c.Desired != nil {
				devices = append(devices, *c.Desired)
			}
		}
		var err error
		if pruned, err = st.Owned(ctx, p.Account, devices); err != nil {
			problems = append(problems, err)
		}
	}
	if p.Applyable() != nil { // the rule is plan's; here, each device's reason
		for _, c := range p.Filter(plan.Conflict) {
			problems = append(problems, fmt.Errorf("device %q conflicts: %s", c.Desired.Name, c.Reason))
		}
	}
	// The store's own preflight of the devices written to, each problem
	// reported at the first device it stops.
	var written []manifest.Device
	for _, c := range p.Changes {
		if c.Action == plan.Create || c.Action == plan.Replace || c.Action == plan.Assign || c.Action == plan.Reseal {
			written = append(written, *c.Desired)
		}
	}
	checked := st.Check(ctx, written, true)
	checks := map[string][]error{}
	for _, pr := range checked {
		if !pr.Warning {
			checks[pr.Device] = append(checks[pr.Device], pr.Err)
		}
	}
	var jobs []job
	// Devices share recipient lists (the manifest builds one per distinct
	// set): parse each list once, not once per device.
	type list struct {
		first *string
		n     int
	}
	parsed := map[list]seal.Recipients{}
	outfiles := lookUp(ctx, st, p.Changes)
	for i, c := range p.Changes {
		switch c.Action {
		case plan.UpdateTags:
			jobs = append(jobs, job{change: c})
			continue
		case plan.Delete:
			jobs = append(jobs, job{change: c, files: pruned[c.Existing.Serial]})
			continue
		case plan.Settle:
			files, err := st.Files(ctx, *c.Desired)
			if err != nil {
				problems = append(problems, err)
				continue
			}
			jobs = append(jobs, job{change: c, files: files})
			continue
		case plan.Create, plan.Replace, plan.Assign, plan.Reseal:
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
		problems = append(problems, checks[d.Name]...)
		delete(checks, d.Name)
		o := outfiles[i]
		if o.filesErr != nil {
			problems = append(problems, o.filesErr)
			continue
		}
		if o.err != nil {
			problems = append(problems, fmt.Errorf("checking the outfile of device %q: %w", d.Name, o.err))
		} else if o.exists && c.Action == plan.Create && !c.MoveAside {
			problems = append(problems, fmt.Errorf("device %q: outfile %s already exists; mfabulk never overwrites an outfile", d.Name, d.Outfile))
		} else if !o.exists && c.Action == plan.Reseal {
			problems = append(problems, fmt.Errorf("device %q: outfile %s is gone since plan; run plan again", d.Name, d.Outfile))
		}
		jobs = append(jobs, job{change: c, recipients: rs, files: o.files})
	}
	for _, pr := range checked { // a problem of no device written: after the rest
		if _, left := checks[pr.Device]; left && !pr.Warning {
			problems = append(problems, pr.Err)
		}
	}
	if len(problems) > 0 {
		return nil, &PreflightError{Problems: dedupe(problems)}
	}
	return jobs, nil
}

// lookUpParallelism bounds the outfiles preflight asks about at once.
const lookUpParallelism = 16

// outfile is what preflight found at a written device's outfile.
type outfile struct {
	files    store.Files
	filesErr error // from Files: the device has no files to ask about
	exists   bool
	err      error // from Exists
}

// lookUp asks the store whether each written device's outfile exists,
// lookUpParallelism at a time, by the change's index. In a bucket each
// answer is a HEAD, tens of milliseconds from a runner: asked one after
// another, they held the first IAM call back a round trip per device
// (make bench, 300 devices, S3 at 20 ms: 8 s). The devices' files are
// made one at a time, as before; only the questions run together.
func lookUp(ctx context.Context, st Store, changes []plan.Change) map[int]*outfile {
	out := map[int]*outfile{}
	slots := make(chan struct{}, lookUpParallelism)
	var wg sync.WaitGroup
	for i, c := range changes {
		if c.Action != plan.Create && c.Action != plan.Replace && c.Action != plan.Assign && c.Action != plan.Reseal {
			continue
		}
		o := &outfile{}
		out[i] = o
		if o.files, o.filesErr = st.Files(ctx, *c.Desired); o.filesErr != nil {
			continue
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			o.exists, o.err = o.files.Exists(ctx)
		})
	}
	wg.Wait()
	return out
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
