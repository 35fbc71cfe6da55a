// Package journal records mfabulk's intent to create a device, durably,
// before the create call, so that a run that dies between IAM's response
// and a durable outfile leaves a trace: the next plan finds the intent,
// sees the device in the account without its outfile, and proposes to
// replace it ("seed lost") instead of mistaking it for someone else's.
//
// An intent is a small JSON file next to the device's outfile, named
// ".OUTFILE.intent" (for out/alice.png.age, out/.alice.png.age.intent).
// It never holds a secret. While a run works on a device it holds an
// exclusive lock on the intent (flock; LockFileEx on Windows), so two
// runs cannot work on one device at once, and a run that is killed
// releases its locks with its life.
//
// An intent is evidence that can be planted, so it is trusted only when it
// is a regular file with one link, owned by the caller, small, well formed,
// and names exactly the account, device and path being planned; anything
// else is reported by [Inspect] as [Foreign] and never acted on, and
// [Begin] refuses to overwrite another account's or device's intent, or
// one that is not the intent the plan saw ([Seen]).
//
// Use [Begin] before creating, then [Lock.Done] once the outfile is
// durable (or the device is rolled back) or [Lock.Keep] when the outcome
// is unknown. [Inspect] tells plan what an intent left over means.
package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/mfabulk/mfabulk/internal/atomicfile"
	"github.com/mfabulk/mfabulk/internal/failpoint"
)

// ErrBusy is returned by [Begin] when another live run holds the intent.
var ErrBusy = errors.New("another mfabulk run is working on this device")

// MaxIntentSize bounds what is read of an intent: a real one is a few
// hundred bytes, and a planted huge one must not exhaust memory.
const MaxIntentSize = 64 << 10

// Key is what an intent must name to be this plan's.
type Key struct {
	Account string
	Device  string
	Path    string
}

// Intent is what a run meant to do; it holds no secret.
type Intent struct {
	Device  string `json:"device"`
	Path    string `json:"path"`
	Account string `json:"account"`
	Outfile string `json:"outfile"`
	Action  string `json:"action"` // create, replace or reseal
	// CreateID is the random, non-secret ID this run tags the device with,
	// so that a later plan or run can tell its own device from another
	// run's device of the same name.
	CreateID string `json:"create_id,omitempty"`
	// Proof is the create ID's proof (see [NewCreateID]): an intent
	// without it (an older mfabulk's, or one made from the device's
	// public tag) proves nothing about the device.
	Proof string `json:"proof,omitempty"`
	// Replaces is the create ID of the device a replace deletes ("" when
	// it has none), so that a replace interrupted after moving the old
	// outfile aside can be resumed on proof that the device is that one;
	// ReplacesProof is its proof, when this folder held it.
	Replaces      string `json:"replaces,omitempty"`
	ReplacesProof string `json:"replaces_proof,omitempty"`
	// Recipients are who the outfile this run writes is sealed to: a
	// run stopped after writing it and before its record leaves them
	// here for the record the next run writes.
	Recipients []Recipient `json:"recipients,omitempty"`
	// NewOutfileSHA256 is, for a re-seal, the hex SHA-256 of the
	// ciphertext it puts in the outfile's place, written before it puts
	// it: a run killed around the put leaves the outfile either that one
	// (record it) or the recorded one (nothing was changed), and anything
	// else at the name is no outfile of this re-seal's to record.
	NewOutfileSHA256 string `json:"new_outfile_sha256,omitempty"`
	// SecretMAC is, for a re-seal, the record's binding to the secret
	// (see [SecretMAC]): the secret does not change, and the record its
	// settling writes keeps it.
	SecretMAC string    `json:"secret_mac,omitempty"`
	Started   time.Time `json:"started"`
	PID       int       `json:"pid"`
}

// Key returns the account, device and path the intent names.
func (in Intent) Key() Key { return Key{Account: in.Account, Device: in.Device, Path: in.Path} }

// Name returns the intent file's name for an outfile's name.
func Name(outName string) string { return "." + outName + ".intent" }

// Lock is a held intent.
type Lock struct {
	f    *os.File
	dir  *atomicfile.Dir
	name string
}

// ErrChanged is returned by [Begin] when the intent is no longer the one
// the plan saw: another run took it over, settled it or left one since.
var ErrChanged = errors.New("the device's intent in the journal changed since plan: another run worked on it; run plan again")

// Seen is the intent a plan found for a device: whether this plan's intent
// was there (Present), and the create ID it named. A takeover is checked
// against it, because the intent may be the only evidence of another
// run's device: a run killed after IAM committed its create, before the
// outfile, leaves a device whose seed is lost and whose create ID only its
// intent names. Overwriting that intent, or removing it once settled,
// would erase the evidence the next plan needs to replace the device.
type Seen struct {
	Present  bool
	CreateID string
}

// Begin durably records the intent for the outfile outName in dir and
// locks it. The intent is on disk, fsync'd with its folder entry, before
// Begin returns. An intent left by an earlier run for the same account,
// device and path is taken over only when it is still the one the plan
// saw (seen: present or not, and its create ID); otherwise Begin returns
// an error wrapping [ErrChanged] and writes nothing, not even an empty
// file. One that names anything else, or a file that mfabulk did not
// make (a link, another user's file), is refused. A file that is not a
// well-formed intent (one left empty by a run killed while writing it) is
// no intent: plan reported it, and saw none.
func Begin(dir *atomicfile.Dir, outName string, in Intent, seen Seen) (*Lock, error) {
	name := Name(outName)
	f, err := dir.OpenFile(name, os.O_RDWR, 0)
	if errors.Is(err, syscall.ENOENT) {
		if seen.Present {
			return nil, fmt.Errorf("intent %s: %w (it is gone)", f2(dir, name), ErrChanged)
		}
		// Exclusive: an intent another run makes at this moment is not
		// opened as if it were new.
		f, err = dir.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, syscall.EEXIST) {
			return nil, fmt.Errorf("intent %s: %w (another run made one)", f2(dir, name), ErrChanged)
		}
	}
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("intent %s is a symbolic link: mfabulk never follows a link it did not make; remove it", f2(dir, name))
		}
		return nil, fmt.Errorf("recording the intent in the journal: %w", err)
	}
	if err := atomicfile.CheckOwnFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("intent %s was not made by mfabulk (%w); remove it", f2(dir, name), err)
	}
	if busy, err := lockExclusive(f); err != nil {
		f.Close()
		if busy {
			return nil, ErrBusy
		}
		return nil, fmt.Errorf("locking intent %s: %w", f2(dir, name), err)
	}
	l := &Lock{f: f, dir: dir, name: name}
	prev, rerr := read(f)
	switch {
	case rerr == nil && prev.Key() != in.Key():
		l.Keep()
		return nil, fmt.Errorf("intent %s belongs to device %q at %s in account %s, not to this plan: mfabulk acts on an intent only for what it names; run plan against that account, or remove the file", f2(dir, name), prev.Device, prev.Path, prev.Account)
	case rerr == nil && !seen.Present:
		l.Keep()
		return nil, fmt.Errorf("intent %s: %w (it names create ID %s; the plan saw no intent)", f2(dir, name), ErrChanged, prev.CreateID)
	case rerr == nil && prev.CreateID != seen.CreateID:
		l.Keep()
		return nil, fmt.Errorf("intent %s: %w (it names create ID %s; the plan saw %s)", f2(dir, name), ErrChanged, prev.CreateID, seen.CreateID)
	case rerr != nil && seen.Present:
		l.Keep()
		return nil, fmt.Errorf("intent %s: %w (%v)", f2(dir, name), ErrChanged, rerr)
	}
	if err := l.write(in); err != nil {
		l.Keep()
		return nil, fmt.Errorf("writing intent %s: %w", f2(dir, name), err)
	}
	return l, nil
}

func f2(dir *atomicfile.Dir, name string) string { return dir.Path() + string(os.PathSeparator) + name }

// write records in as the intent, over what the file held, in one
// write, never truncating: a run killed while it takes over an earlier
// run's intent leaves the old intent or the new one, each naming a create
// the next plan can prove (the new one names the old one's as the create
// it replaces). Truncating first, then writing, left an empty file at a
// kill between the two: no intent, and a device whose seed no one has
// that plan could no longer prove mfabulk's. The new intent is padded with
// spaces (JSON whitespace) to the old one's length, so no old byte is left
// after it; a write of a few hundred bytes to one file, in one call, is
// whole or not at all for a process killed around it.
func (l *Lock) write(in Intent) error { return l.put(in, true) }

// put is write; takeover marks a takeover's write (failpoint
// IntentRewritten), not a held intent's own rewrite.
func (l *Lock) put(in Intent, takeover bool) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	st, err := l.f.Stat()
	if err != nil {
		return err
	}
	if pad := int(st.Size()) - len(b) - 1; pad > 0 {
		b = append(b, bytes.Repeat([]byte{' '}, pad)...)
	}
	if _, err := l.f.WriteAt(append(b, '\n'), 0); err != nil {
		return err
	}
	if takeover && st.Size() > 0 {
		failpoint.Hit(failpoint.IntentRewritten)
	}
	if err := l.f.Sync(); err != nil {
		return err
	}
	return l.dir.Sync()
}

// Rewrite durably replaces the held intent with in, which names the same
// device and create: a re-seal names the ciphertext it is about to put
// before it puts it.
func (l *Lock) Rewrite(in Intent) error { return l.put(in, false) }

// Done removes the intent: the outcome is settled (outfile durable, device
// rolled back, or the create refused), and releases the lock.
func (l *Lock) Done() error {
	err := l.dir.Remove(l.name)
	if err == nil {
		err = l.dir.Sync()
	}
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("removing intent: %w", err)
	}
	return nil
}

// Keep releases the lock and leaves the intent for the next plan: the
// device may exist without a durable outfile.
func (l *Lock) Keep() error { return l.f.Close() }

// State is what an intent file means to a plan.
type State int

const (
	// None: no intent file.
	None State = iota
	// Pending: an earlier run of this account meant to create the device
	// and did not settle it; with the outfile absent the seed may be lost.
	Pending
	// Busy: a live run holds the intent and is working on the device.
	Busy
	// Foreign: something is at the intent's name that is not this plan's
	// intent (another account's or device's, malformed, too large, a link,
	// another user's file). It is reported, never acted on.
	Foreign
)

// Status is an intent file's state, with the intent when it could be read
// and, for Foreign, why it is not trusted.
type Status struct {
	State  State
	Intent *Intent
	Reason string
}

// Inspect reads the intent of the outfile outName in dir, checking it
// names want. It does not look at the outfile.
func Inspect(dir *atomicfile.Dir, outName string, want Key) (Status, error) {
	name := Name(outName)
	f, err := dir.OpenFile(name, os.O_RDONLY, 0)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return Status{State: None}, nil
	case errors.Is(err, syscall.ELOOP):
		return Status{State: Foreign, Reason: "it is a symbolic link"}, nil
	case err != nil:
		return Status{}, fmt.Errorf("reading intent: %w", err)
	}
	defer f.Close()
	if err := atomicfile.CheckOwnFile(f); err != nil {
		return Status{State: Foreign, Reason: err.Error()}, nil
	}
	if err := lockShared(f); err != nil {
		st := Status{State: Busy}
		return st, nil // held by a live run
	}
	in, err := read(f)
	if err != nil {
		return Status{State: Foreign, Reason: err.Error()}, nil
	}
	if in.Key() != want {
		return Status{State: Foreign, Intent: &in, Reason: fmt.Sprintf("it names device %q at %q in account %q", in.Device, in.Path, in.Account)}, nil
	}
	return Status{State: Pending, Intent: &in}, nil
}

// read parses an intent strictly: bounded, one JSON object with every
// identifying field set.
func read(f *os.File) (Intent, error) {
	data, err := readBounded(f)
	if err != nil {
		return Intent{}, err
	}
	var in Intent
	if err := json.Unmarshal(data, &in); err != nil {
		return Intent{}, errors.New("it is not a well-formed intent")
	}
	if in.Device == "" || in.Path == "" || in.Account == "" {
		return Intent{}, errors.New("it does not name a device, path and account")
	}
	return in, nil
}

func readBounded(f *os.File) ([]byte, error) {
	data, err := io.ReadAll(io.NewSectionReader(f, 0, MaxIntentSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxIntentSize {
		return nil, fmt.Errorf("it is larger than %d bytes", MaxIntentSize)
	}
	return data, nil
}
