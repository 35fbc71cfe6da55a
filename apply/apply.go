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
	"time"

	"filippo.io/age"
	"golang.org/x/sync/errgroup"

	"github.com/mfabulk/mfabulk/device"
	"github.com/mfabulk/mfabulk/iamclient"
	"github.com/mfabulk/mfabulk/manifest"
	"github.com/mfabulk/mfabulk/plan"
	"github.com/mfabulk/mfabulk/seal"
)

// API is what apply needs from IAM.
type API interface {
	Create(ctx context.Context, name, path string, tags map[string]string) (*iamclient.Created, error)
	Delete(ctx context.Context, serial string) error
}

// Options tune a run.
type Options struct {
	Parallelism int         // creates in flight at once; 0 means 8
	OnEvent     func(Event) // called from one goroutine at a time; may be nil
}

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
	Serial  string // set once IAM created the device
	Outfile string
	Err     error  // nil on success
	Code    string // AWS error code of Err, if any
	// RolledBack is set when the device was created but its outfile could
	// not be written, and the device was deleted again.
	RolledBack bool
}

// Result lists every device's outcome, in plan order.
type Result struct {
	Outcomes []Outcome
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

// job is a create with its recipients already parsed.
type job struct {
	dev        manifest.Device
	recipients []age.Recipient
}

// Run executes the plan's creates. It returns a *PreflightError, and makes
// no call, when the plan cannot be applied safely.
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
	res := Result{Outcomes: make([]Outcome, len(jobs))}
	g := new(errgroup.Group)
	g.SetLimit(limit)
	for i, j := range jobs {
		g.Go(func() error {
			emit(Started, Outcome{Device: j.dev.Name, Outfile: j.dev.Outfile})
			o := create(ctx, api, j)
			res.Outcomes[i] = o
			if o.Err != nil {
				emit(Failed, o)
			} else {
				emit(Created, o)
			}
			return nil // one device's failure must not cancel the others
		})
	}
	g.Wait()
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
	for _, c := range p.Filter(plan.Create) {
		d := c.Desired
		rs, err := seal.ParseRecipients(d.Recipients)
		if err != nil {
			problems = append(problems, fmt.Errorf("device %q: %w", d.Name, err))
		}
		if _, err := os.Lstat(d.Outfile); err == nil {
			problems = append(problems, fmt.Errorf("device %q: outfile %s already exists; mfabulk never overwrites an outfile", d.Name, d.Outfile))
		}
		dir := filepath.Dir(d.Outfile)
		if !dirs[dir] {
			dirs[dir] = true
			if err := seal.EnsureDir(dir); err != nil {
				problems = append(problems, fmt.Errorf("outfile folder %s: %w", dir, err))
			}
		}
		jobs = append(jobs, job{dev: d, recipients: rs})
	}
	if len(problems) > 0 {
		return nil, &PreflightError{Problems: problems}
	}
	return jobs, nil
}

// create makes one device and seals its secret; if the secret cannot be
// made durable the device is deleted again, so no device is left whose
// seed nobody holds.
func create(ctx context.Context, api API, j job) Outcome {
	d := j.dev
	o := Outcome{Device: d.Name, Outfile: d.Outfile}
	created, err := api.Create(ctx, d.Name, d.Path, d.Tags)
	if err != nil {
		o.Err, o.Code = fmt.Errorf("creating device %q: %w", d.Name, err), iamclient.ErrorCode(err)
		return o
	}
	defer created.Wipe()
	o.Serial = created.Serial
	secret := created.QRCodePNG
	if d.Bootstrap == device.Base32StringSeed {
		secret = created.Base32StringSeed
	}
	werr := writeOutfile(d.Outfile, secret, j.recipients)
	if werr == nil {
		return o
	}
	o.Err = fmt.Errorf("writing outfile of device %q: %w", d.Name, werr)
	// The rollback must run even when the run is being interrupted.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if derr := api.Delete(rctx, created.Serial); derr != nil {
		o.Err = fmt.Errorf("%w; ROLLBACK FAILED, device %s exists but its seed is lost: delete it by hand: %w", o.Err, created.Serial, derr)
		o.Code = iamclient.ErrorCode(derr)
		return o
	}
	o.RolledBack = true
	o.Err = fmt.Errorf("%w; device %s was deleted again", o.Err, created.Serial)
	return o
}

func writeOutfile(path string, secret []byte, recipients []age.Recipient) error {
	if len(secret) == 0 {
		return errors.New("IAM returned no secret for the chosen bootstrap method")
	}
	ct, err := seal.Encrypt(secret, recipients)
	if err != nil {
		return err
	}
	return seal.WriteNew(path, ct)
}
