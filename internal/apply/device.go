package apply

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"filippo.io/age"

	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/failpoint"
	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/seal"
	"github.com/mfabulk/mfabulk/internal/store"
	"github.com/mfabulk/mfabulk/internal/totp"
)

// runner carries one apply's shared state across its goroutines.
type runner struct {
	api  API
	plan plan.Plan // for the account and its serial numbers
	// quotaReached stops new creates once IAM answers LimitExceeded; calls
	// already in flight finish.
	quotaReached atomic.Bool
	// identities open outfiles to re-seal (Options.Identities), one
	// decryption at a time.
	identities []age.Identity
	decrypting sync.Mutex
}

// dispatch carries out one change.
func (r *runner) dispatch(ctx context.Context, j job) Outcome {
	switch j.change.Action {
	case plan.UpdateTags:
		return r.updateTags(ctx, j.change)
	case plan.Delete:
		return r.delete(ctx, j)
	case plan.Settle:
		return r.record(ctx, j)
	case plan.Reseal:
		return r.reseal(ctx, j)
	}
	return r.do(ctx, j)
}

// updateTags makes a device's tags the manifest's. Keys are removed first:
// IAM tag keys ignore case, so a key renamed from "Team" to "team" must go
// before the new one is set.
func (r *runner) updateTags(ctx context.Context, c plan.Change) Outcome {
	o := Outcome{Device: c.Name, Action: c.Action, Serial: c.Existing.Serial}
	var remove []string
	set := map[string]string{}
	for _, t := range c.Tags {
		if t.After == nil {
			remove = append(remove, t.Key)
		} else {
			set[t.Key] = *t.After
		}
	}
	if len(remove) > 0 {
		if err := r.api.Untag(ctx, c.Existing.Serial, remove); err != nil {
			o.Err, o.Code = fmt.Errorf("untagging device %q: %w", c.Name, err), device.ErrorCode(err)
			return o
		}
	}
	if len(set) > 0 {
		if err := r.api.Tag(ctx, c.Existing.Serial, set); err != nil {
			o.Err, o.Code = fmt.Errorf("tagging device %q: %w", c.Name, err), device.ErrorCode(err)
		}
	}
	return o
}

// delete prunes a device the manifest no longer lists. Its outfile, when
// a record in one of the manifest's outfile folders names it, is moved
// aside first, so that the secret is kept and a device of the same name
// can be added again later.
func (r *runner) delete(ctx context.Context, j job) Outcome {
	c := j.change
	o := Outcome{Device: c.Name, Action: c.Action, Serial: c.Existing.Serial}
	if c.Deactivate != "" {
		// A leaver: minutes may have passed since plan (a saved plan,
		// the confirmation prompt), and a device of the same name (the
		// same serial) deleted, created again and enabled since is not
		// the one the plan showed. Nothing is moved or called before.
		if err := r.recheck(ctx, c); err != nil {
			o.Err, o.Code = fmt.Errorf("pruning device %q: %w; nothing was changed", c.Name, err), device.ErrorCode(err)
			return o
		}
	}
	if j.files != nil {
		if exists, err := j.files.Exists(ctx); err != nil || exists {
			old, merr := "", err
			if err == nil {
				old, merr = j.files.MoveAside(ctx, stamp())
			}
			if merr != nil {
				o.Err = fmt.Errorf("pruning device %q: moving its outfile aside: %w", c.Name, merr)
				return o
			}
			o.OldOutfile = old
			failpoint.Hit(failpoint.PruneMovedAside)
		}
	}
	if c.Deactivate != "" {
		if err := r.deactivate(ctx, &o, c.Deactivate, c.Existing.Serial); err != nil {
			o.Err, o.Code = fmt.Errorf("pruning device %q: %w", c.Name, err), device.ErrorCode(err)
			return o
		}
		failpoint.Hit(failpoint.PruneDeactivated)
	}
	if err := r.api.Delete(ctx, c.Existing.Serial); err != nil && device.ErrorCode(err) != "NoSuchEntity" {
		o.Err, o.Code = fmt.Errorf("deleting device %q: %w", c.Name, err), device.ErrorCode(err)
	}
	return o
}

func stamp() string { return time.Now().UTC().Format("20060102T150405Z") }

// do creates (or replaces) one device and seals its secret. The intent is
// in the journal before IAM is called and leaves it only once the outcome
// is settled, so that no device can exist with its seed lost unnoticed.
// The device is tagged with a fresh create ID, recorded in the intent
// before the call and beside the outfile after it: the proof, for this run
// and later plans, of which device the outfile's secret belongs to.
func (r *runner) do(ctx context.Context, j job) Outcome {
	d := j.change.Desired
	o := Outcome{Device: d.Name, Action: j.change.Action, Outfile: d.Outfile}
	if r.quotaReached.Load() {
		o.Err, o.Code, o.NotAttempted = fmt.Errorf("device %q not created: the account's virtual MFA device quota was reached", d.Name), "LimitExceeded", true
		return o
	}
	if j.change.Action == plan.Assign {
		if err := r.checkUser(ctx, d.User); err != nil {
			o.Err, o.Code = fmt.Errorf("assigning device %q: %w; nothing was changed", d.Name, err), device.ErrorCode(err)
			if errors.Is(err, errUserFull) {
				o.Code = "LimitExceeded"
			}
			return o
		}
	}
	createID, proof := journal.NewCreateID()
	in := journal.Intent{
		Device: d.Name, Path: d.Path, Account: r.plan.Account, Outfile: d.Outfile,
		Action: intentAction(j.change.Action), CreateID: createID, Proof: proof, Recipients: plan.Recipients(j.recipients),
		Started: time.Now().UTC(), PID: os.Getpid(),
	}
	if j.change.Action == plan.Replace || j.change.Action == plan.Assign {
		in.Replaces = j.change.CreateID
		if journal.Proves(j.change.Proof, j.change.CreateID) {
			in.ReplacesProof = j.change.Proof
		}
	}
	// The intent the plan saw, or none: another run's, left since, may be
	// the only evidence of its device, and is not ours to take over.
	held, err := j.files.Begin(ctx, in, store.Seen(j.change.Intent))
	if err != nil {
		o.Err = fmt.Errorf("recording the intent of device %q: %w", d.Name, err)
		return o
	}
	if (j.change.Action == plan.Replace || j.change.Action == plan.Assign) && j.change.CreateID != "" {
		// The plan proved the device ours by its create ID; minutes may
		// have passed since (the confirmation prompt), and another run may
		// have replaced it. Read the tag again, holding the intent, right
		// before anything is moved or deleted.
		tags, err := r.api.ListTags(ctx, j.change.Existing.Serial)
		if err == nil && tags[device.CreateIDTag] != j.change.CreateID {
			err = errors.New("it changed since plan: another run or a person replaced it; run plan again")
		}
		if err != nil {
			o.Err, o.Code = fmt.Errorf("checking device %q before replacing it: %w", d.Name, err), device.ErrorCode(err)
			return r.keep(ctx, o, held)
		}
	}
	if j.change.Action == plan.Replace && j.change.Deactivate != "" {
		// A lost phone: the device is deactivated only while it is the
		// one the plan saw enabled (its create ID, when it has one, was
		// read again just above).
		if err := r.recheck(ctx, plan.Change{Deactivate: j.change.Deactivate, Existing: j.change.Existing}); err != nil {
			o.Err, o.Code = fmt.Errorf("checking device %q before replacing it: %w", d.Name, err), device.ErrorCode(err)
			return r.keep(ctx, o, held)
		}
	}
	if (j.change.Action == plan.Replace || j.change.Action == plan.Assign) || j.change.MoveAside {
		if err := r.moveAside(ctx, &o, j, held); err != nil {
			o.Err = err
			return r.keep(ctx, o, held)
		}
	}
	if exists, err := held.Exists(ctx); err != nil || exists {
		o.Err = fmt.Errorf("device %q: outfile %s appeared while planning: another mfabulk run created it", d.Name, d.Outfile)
		if err != nil {
			o.Err = fmt.Errorf("checking the outfile of device %q: %w", d.Name, err)
		}
		return r.settle(ctx, o, held)
	}
	if j.change.Action == plan.Replace && j.change.Deactivate != "" {
		// A lost phone: the person asked for it with --allow-deactivate.
		// The old outfile is aside and the intent held, so a run dying
		// from here leaves a device the next plan replaces unassigned.
		if err := r.deactivate(ctx, &o, j.change.Deactivate, j.change.Existing.Serial); err != nil {
			o.Err, o.Code = fmt.Errorf("replacing device %q: %w", d.Name, err), device.ErrorCode(err)
			return r.keep(ctx, o, held)
		}
		failpoint.Hit(failpoint.ReplaceDeactivated)
	}
	if j.change.Action == plan.Replace || j.change.Action == plan.Assign {
		if err := r.api.Delete(ctx, j.change.Existing.Serial); err != nil && device.ErrorCode(err) != "NoSuchEntity" {
			o.Err, o.Code = fmt.Errorf("replacing device %q: %w", d.Name, err), device.ErrorCode(err)
			return r.keep(ctx, o, held)
		}
		failpoint.Hit(failpoint.ReplaceDeleted)
	}
	created, err := r.create(ctx, *d, in.CreateID)
	if err != nil {
		return r.createFailed(ctx, o, held, err)
	}
	defer created.Wipe()
	failpoint.Hit(failpoint.Created)
	o.Serial = created.Serial
	secret := created.Secret(d.Bootstrap)
	if len(secret) > 0 {
		// The intent binds the secret before the outfile is written, so
		// that the record a later run settles for a run killed after the
		// outfile binds it too (a re-seal in S3 needs it). Unlike the
		// outfile, the intent may be rewritten: IAM's answer is spent
		// either way, and a failure rolls the device back.
		in.SecretMAC = journal.SecretMAC(in.Proof, secret)
		if err := held.Rewrite(context.WithoutCancel(ctx), in); err != nil {
			return r.rollback(ctx, o, held, created.Serial, fmt.Errorf("recording it in its intent: %w", err))
		}
	}
	sum, err := writeOutfile(ctx, held, secret, j.recipients)
	if err != nil {
		return r.rollback(ctx, o, held, created.Serial, err)
	}
	o.CiphertextSHA256, o.Recipients = sum, j.recipients.Fingerprints
	failpoint.Hit(failpoint.OutfileWritten)
	rec := journal.Record{Account: r.plan.Account, Device: d.Name, Path: d.Path, Serial: created.Serial,
		CreateID: in.CreateID, Proof: in.Proof, OutfileSHA256: sum, Created: time.Now().UTC(), Recipients: in.Recipients,
		SecretMAC: in.SecretMAC}
	if err := held.WriteRecord(context.WithoutCancel(ctx), rec); err != nil {
		// The outfile is durable; the intent still names its create ID,
		// so the next plan knows whose secret it is.
		o.Err = fmt.Errorf("recording the written outfile of device %q: %w", d.Name, err)
		return r.keep(ctx, o, held)
	}
	// The outfile is durable and recorded: the intent is settled before
	// the enable, so that a run dying during it leaves a device the next
	// plan simply assigns.
	if o = r.settle(ctx, o, held); o.Err != nil || d.User == "" {
		return o
	}
	return r.enable(ctx, o, d.User, created)
}

// recheck reads again, right before a device is deactivated, what
// identifies it as the one the plan saw: enabled for the same user since
// the same moment (ListMFADevices' EnableDate), and tagged with the same
// create ID when the plan read one. A device deleted and created again
// under the same name has the same serial, but neither the same enable
// date nor the same create ID.
func (r *runner) recheck(ctx context.Context, c plan.Change) error {
	since, enabled, err := r.api.EnabledFor(ctx, c.Deactivate, c.Existing.Serial)
	switch {
	case err != nil:
		return fmt.Errorf("checking it before deactivating it: %w", err)
	case !enabled:
		return fmt.Errorf("it is no longer enabled for user %s: it changed since plan; run plan again", c.Deactivate)
	case !since.Truncate(time.Second).Equal(c.Existing.EnableDate.Truncate(time.Second)):
		return fmt.Errorf("it was enabled for user %s at %s, the plan saw it enabled at %s (deleted and created again?): it changed since plan; run plan again",
			c.Deactivate, since.UTC().Format(time.RFC3339), c.Existing.EnableDate.UTC().Format(time.RFC3339))
	}
	if c.CreateID == "" {
		return nil
	}
	tags, err := r.api.ListTags(ctx, c.Existing.Serial)
	if err != nil {
		return fmt.Errorf("checking it before deactivating it: %w", err)
	}
	if tags[device.CreateIDTag] != c.CreateID {
		return errors.New("its create ID is not the one the plan read (another run or a person replaced it): it changed since plan; run plan again")
	}
	return nil
}

// deactivate takes the device serial away from user, the step IAM needs
// before it deletes an assigned device. NoSuchEntity means the device is
// not enabled for that user (any more): an earlier attempt whose answer
// was lost, or a person who deactivated it since plan. The delete that
// follows is then IAM's check, refused (DeleteConflict) for a device
// another user has meanwhile, never a device deleted from under a user.
func (r *runner) deactivate(ctx context.Context, o *Outcome, user, serial string) error {
	err := r.api.Deactivate(ctx, user, serial)
	switch {
	case err == nil:
		o.Deactivated = user
	case device.ErrorCode(err) != "NoSuchEntity":
		return fmt.Errorf("deactivating it for user %s: %w", user, err)
	}
	return nil
}

// errUserFull: the user has IAM's limit of MFA devices.
var errUserFull = errors.New("IAM's limit of MFA devices per user")

// checkUser checks, right before an assign's destructive steps (moving
// the outfile aside, deleting the device), that its enable can still
// succeed: the user exists and has fewer MFA devices than IAM's limit, of
// every kind. Either may have changed since plan, and an assign that
// fails its enable has spent the device's secret for nothing. One
// ListMFADevices call answers both: IAM answers it NoSuchEntity for a user
// that does not exist, as GetUser would.
func (r *runner) checkUser(ctx context.Context, user string) error {
	serials, err := r.api.UserDevices(ctx, user)
	switch {
	case device.ErrorCode(err) == "NoSuchEntity":
		return fmt.Errorf("user %s does not exist (deleted since plan?): %w", user, err)
	case err != nil:
		return fmt.Errorf("reading the MFA devices of user %s: %w", user, err)
	case len(serials) >= plan.MaxUserDevices:
		return fmt.Errorf("user %s has %d MFA devices now, %w", user, len(serials), errUserFull)
	}
	return nil
}

// intentAction is what an intent records for a change: an assign issues a
// new secret exactly as a replace does, and resumes as one.
func intentAction(a plan.Action) string {
	if a == plan.Assign {
		return string(plan.Replace)
	}
	return string(a)
}

// record finishes what a run stopped after writing an outfile left
// undone: the record beside the outfile, then removing the intent. The
// plan proposed it on proof (the device carries the intent's create ID),
// so the record names that create ID, and the intent is taken over only
// while it still names it. Under the intent's lock, the outfile is checked
// to be still there.
func (r *runner) record(ctx context.Context, j job) Outcome {
	c := j.change
	o := Outcome{Device: c.Name, Action: c.Action, Outfile: c.Desired.Outfile, Serial: c.Existing.Serial}
	action := plan.Create
	if c.SettlesReseal {
		action = plan.Reseal
	}
	in := journal.Intent{
		Device: c.Name, Path: c.Path, Account: r.plan.Account, Outfile: c.Desired.Outfile,
		Action: string(action), CreateID: c.CreateID, Proof: c.Proof, Recipients: c.SealedTo, Started: time.Now().UTC(), PID: os.Getpid(),
	}
	// The binding to the secret the intent carried (a create's, written
	// once the secret was known; a re-seal's, whose secret is the one
	// recorded) is the record's.
	in.SecretMAC = c.SecretMAC
	// Only the intent the plan settled on: one another run has put in its
	// place since names another create, whose outfile this may not be.
	// Holding the intent, the store has removed what a killed run left
	// of the outfile's writing (a second link to it, in a folder), for
	// the outfile to be one of ours.
	held, err := j.files.Begin(ctx, in, store.Seen{Present: true, CreateID: c.CreateID, Version: c.Intent.Version})
	if err != nil {
		o.Err = fmt.Errorf("taking over the intent of device %q: %w", c.Name, err)
		return o
	}
	if exists, err := held.Exists(ctx); err != nil || !exists {
		o.Err = fmt.Errorf("recording the outfile of device %q: it is gone since plan; run plan again", c.Name)
		if err != nil {
			o.Err = fmt.Errorf("checking the outfile of device %q: %w", c.Name, err)
		}
		return r.keep(ctx, o, held)
	}
	// The record is bound to the outfile as it is now, under the intent's
	// lock: the one the intent's run wrote, since only a run holding the
	// intent writes it.
	sum, err := held.OutfileSHA256(ctx)
	if err == nil && sum == "" {
		err = errors.New("it is not a regular file of yours, or is too large to be an outfile")
	}
	if err != nil {
		o.Err = fmt.Errorf("recording the outfile of device %q: %w", c.Name, err)
		return r.keep(ctx, o, held)
	}
	rec := journal.Record{Account: r.plan.Account, Device: c.Name, Path: c.Path, Serial: c.Existing.Serial,
		CreateID: c.CreateID, Proof: c.Proof, OutfileSHA256: sum, Created: time.Now().UTC(), Recipients: c.SealedTo,
		SecretMAC: in.SecretMAC}
	if err := held.WriteRecord(context.WithoutCancel(ctx), rec); err != nil {
		o.Err = fmt.Errorf("recording the outfile of device %q: %w", c.Name, err)
		return r.keep(ctx, o, held)
	}
	return r.settle(ctx, o, held)
}

// settle removes a settled intent; failing to is the device's error, so
// that a store in trouble is not reported as success. It is done even on
// a hard stop: the outcome is known now.
func (r *runner) settle(ctx context.Context, o Outcome, held store.Held) Outcome {
	if err := held.Done(context.WithoutCancel(ctx)); err != nil {
		o.Err = errors.Join(o.Err, fmt.Errorf("settling the intent of device %q: %w", o.Device, err))
	}
	return o
}

// keep leaves the intent for the next plan and releases its lock, for an
// outcome that is not settled (o.Err is set). The intent was made durable
// when it was written, so a failing close loses nothing of it; the error
// is added to the device's all the same, so that a folder in trouble is
// seen.
func (r *runner) keep(ctx context.Context, o Outcome, held store.Held) Outcome {
	if err := held.Keep(context.WithoutCancel(ctx)); err != nil {
		o.Err = errors.Join(o.Err, fmt.Errorf("releasing the intent of device %q: %w", o.Device, err))
	}
	return o
}

// moveAside moves the outfile being superseded aside, before anything is
// deleted: a run that dies after this keeps the old secret under its new
// name, and the intent lets the next run resume. It records where the old
// outfile went in o; its error is the device's, and the intent is to be
// kept.
func (r *runner) moveAside(ctx context.Context, o *Outcome, j job, held store.Held) error {
	exists, err := held.Exists(ctx)
	if err == nil && exists {
		if o.OldOutfile, err = held.MoveAside(ctx, stamp()); err == nil {
			failpoint.Hit(failpoint.ReplaceMovedAside)
		}
	}
	if err != nil {
		return fmt.Errorf("replacing device %q: moving its old outfile aside: %w", j.change.Name, err)
	}
	return nil
}

// maxSeedLostRecoveries bounds how often one run deletes and recreates a
// device whose create response was lost.
const maxSeedLostRecoveries = 5

// create calls IAM with the device tagged by createID, and recovers a
// create whose response was lost (the SDK retried it and met
// EntityAlreadyExists). Such a device is deleted and made again only when
// its create-ID tag proves it is the one this call made: another run may
// have created a device of the same name after this call's first attempt
// failed, and that device is not ours to touch. The intent stays held
// throughout.
func (r *runner) create(ctx context.Context, d manifest.Device, createID string) (*device.Created, error) {
	tags := make(map[string]string, len(d.Tags)+1)
	maps.Copy(tags, d.Tags)
	tags[device.CreateIDTag] = createID
	for try := 0; ; try++ {
		created, err := r.api.Create(ctx, d.Name, d.Path, tags)
		if err == nil || !errors.Is(err, device.ErrSeedLost) || try == maxSeedLostRecoveries {
			return created, err
		}
		serial := device.SerialFor(r.plan.Partition, r.plan.Account, d.Path, d.Name)
		live, terr := r.api.ListTags(ctx, serial)
		switch {
		case terr != nil:
			return nil, fmt.Errorf("%w; whether the device is ours cannot be verified, so it is left alone: %w", err, terr)
		case live[device.CreateIDTag] != createID:
			return nil, fmt.Errorf("%w: %w", errNotOurs, err)
		}
		if derr := r.api.Delete(ctx, serial); derr != nil && device.ErrorCode(derr) != "NoSuchEntity" {
			return nil, fmt.Errorf("%w; deleting it to recreate it failed: %w", err, derr)
		}
	}
}

// errNotOurs: a retried create met a device that another run or person
// created meanwhile.
var errNotOurs = errors.New("the device that exists now was created by another run or person, not by this one")

// createFailed settles the intent of a create that returned an error.
func (r *runner) createFailed(ctx context.Context, o Outcome, held store.Held, err error) Outcome {
	o.Code = device.ErrorCode(err)
	o.Err = fmt.Errorf("creating device %q: %w", o.Device, err)
	if o.Code == "LimitExceeded" {
		r.quotaReached.Store(true)
	}
	switch {
	case errors.Is(err, errNotOurs):
		// Names are unique: if the device there is not ours, none of
		// our attempts was committed. Nothing of ours exists.
		o.Err = fmt.Errorf("%w; it was left alone: run plan again", o.Err)
		return r.settle(ctx, o, held)
	case errors.Is(err, device.ErrSeedLost), errors.Is(err, device.ErrMaybeCommitted):
		// The device may exist with its seed lost. The intent stays; the
		// next plan proposes to replace it if its create ID proves it ours.
		o.SeedLost = true
		o.Err = fmt.Errorf("%w: seed may be lost, run apply again to replace the device", o.Err)
		return r.keep(ctx, o, held)
	case o.Code == "EntityAlreadyExists":
		// The first attempt met an existing device: someone else created
		// it after the plan was made. It is not ours to touch.
		o.Err = fmt.Errorf("%w: it was created by someone else after the plan was made; run plan again", o.Err)
		return r.settle(ctx, o, held)
	case device.Refused(err):
		return r.settle(ctx, o, held) // IAM refused the only attempt: nothing was created
	default:
		// A network error, a cancelled call or a server fault: the create
		// may have been committed. Keep the intent for the next plan.
		o.SeedLost = true
		return r.keep(ctx, o, held)
	}
}

// rollback deletes a device whose outfile could not be written, so that
// no device is left whose seed nobody holds.
func (r *runner) rollback(ctx context.Context, o Outcome, held store.Held, serial string, werr error) Outcome {
	o.Err = fmt.Errorf("writing outfile of device %q: %w", o.Device, werr)
	// The rollback must run even when the run is being interrupted.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if derr := r.api.Delete(rctx, serial); derr != nil {
		o.SeedLost = true
		o.Code = device.ErrorCode(derr)
		o.Err = fmt.Errorf("%w; ROLLBACK FAILED, device %s exists but its seed is lost: run apply again to replace it, or delete it by hand: %w", o.Err, serial, derr)
		return r.keep(ctx, o, held)
	}
	o.RolledBack = true
	o.Err = fmt.Errorf("%w; device %s was deleted again", o.Err, serial)
	return r.settle(ctx, o, held)
}

// writeOutfile seals secret into a new outfile, and returns the hex
// SHA-256 of the bytes written. The device exists now and its seed is
// only in memory: the write is made even on a hard stop.
func writeOutfile(ctx context.Context, held store.Held, secret []byte, recipients seal.Recipients) (string, error) {
	if len(secret) == 0 {
		return "", errors.New("IAM returned no secret for the chosen bootstrap method")
	}
	ct, err := seal.Encrypt(secret, recipients.Keys)
	if err != nil {
		return "", err
	}
	return held.WriteOutfile(context.WithoutCancel(ctx), ct)
}

// enable assigns the new device to user with two consecutive codes
// computed in memory from its fresh seed, by IAM's clock as the create's
// answer told it, so a machine whose clock is off still gets them right.
// IAM refusing the codes (the clocks drifted, or a step boundary fell
// between) is answered once more with the next step's codes.
func (r *runner) enable(ctx context.Context, o Outcome, user string, created *device.Created) Outcome {
	o.User = user
	err := r.enableAt(ctx, user, created, created.Now())
	if device.ErrorCode(err) == "InvalidAuthenticationCode" {
		next := created.Now().Truncate(totp.Step).Add(totp.Step)
		select {
		case <-time.After(next.Sub(created.Now())):
		case <-ctx.Done():
			err = ctx.Err()
		}
		if ctx.Err() == nil {
			err = r.enableAt(ctx, user, created, created.Now())
		}
		if device.ErrorCode(err) == "InvalidAuthenticationCode" {
			err = fmt.Errorf("%w (twice: check that this machine's clock and IAM's agree within a minute)", err)
		}
	}
	if err != nil {
		o.Err, o.Code = fmt.Errorf("enabling device %q for user %s (its outfile is written; the next apply assigns it): %w", o.Device, user, err), device.ErrorCode(err)
		return o
	}
	o.Enabled = time.Now().UTC()
	return o
}

func (r *runner) enableAt(ctx context.Context, user string, created *device.Created, at time.Time) error {
	code1, code2, err := totp.Pair(created.Base32StringSeed, at)
	if err != nil {
		return fmt.Errorf("computing codes: %w", err)
	}
	return r.api.Enable(ctx, user, created.Serial, code1, code2)
}
