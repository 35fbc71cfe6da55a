// Package journal records mfabulk's intent to create a device, durably,
// before the create call, so that a run that dies between IAM's response
// and a durable outfile leaves a trace: the next plan finds the intent,
// sees the device in the account without its outfile, and proposes to
// replace it ("seed lost") instead of mistaking it for someone else's.
//
// An intent is a small JSON file next to the device's outfile, named
// ".OUTFILE.intent" (for out/alice.png.age, out/.alice.png.age.intent).
// It never holds a secret. While a run works on a device it holds an
// exclusive flock on the intent, so two runs cannot work on one device at
// once, and a run that is killed releases its locks with its life.
//
// Use [Begin] before creating, then [Lock.Done] once the outfile is
// durable (or the device is rolled back) or [Lock.Keep] when the outcome
// is unknown. [Pending] tells plan which devices have an intent left over.
package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/mfabulk/mfabulk/atomicfile"
)

// ErrBusy is returned by [Begin] when another live run holds the intent.
var ErrBusy = errors.New("another mfabulk run is working on this device")

// Intent is what a run meant to do; it holds no secret.
type Intent struct {
	Device  string    `json:"device"`
	Path    string    `json:"path"`
	Account string    `json:"account"`
	Outfile string    `json:"outfile"`
	Action  string    `json:"action"` // create or replace
	Started time.Time `json:"started"`
	PID     int       `json:"pid"`
}

// File returns the intent file of an outfile.
func File(outfile string) string {
	return filepath.Join(filepath.Dir(outfile), "."+filepath.Base(outfile)+".intent")
}

// Lock is a held intent.
type Lock struct {
	f    *os.File
	path string
}

// Begin durably records the intent for in.Outfile and locks it. The
// intent is on disk, fsync'd with its folder entry, before Begin returns.
func Begin(in Intent) (*Lock, error) {
	path := File(in.Outfile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrBusy
		}
		return nil, fmt.Errorf("journal: locking %s: %w", path, err)
	}
	l := &Lock{f: f, path: path}
	if err := l.write(in); err != nil {
		l.Keep()
		return nil, fmt.Errorf("journal: writing %s: %w", path, err)
	}
	return l, nil
}

func (l *Lock) write(in Intent) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	if _, err := l.f.WriteAt(append(b, '\n'), 0); err != nil {
		return err
	}
	if err := l.f.Sync(); err != nil {
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(l.path))
}

// Done removes the intent: the outcome is settled (outfile durable, device
// rolled back, or the create refused), and releases the lock.
func (l *Lock) Done() error {
	err := os.Remove(l.path)
	if err == nil {
		err = atomicfile.SyncDir(filepath.Dir(l.path))
	}
	l.f.Close()
	return err
}

// Keep releases the lock and leaves the intent for the next plan: the
// device may exist without a durable outfile.
func (l *Lock) Keep() { l.f.Close() }

// Pending returns the intent left for outfile by a run that did not
// settle it, if the outfile itself does not exist. A live run's intent is
// not pending: it is still being settled.
func Pending(outfile string) (*Intent, error) {
	if _, err := os.Lstat(outfile); err == nil {
		return nil, nil
	}
	path := File(outfile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return nil, nil // held by a live run
	}
	var in Intent
	if err := json.NewDecoder(f).Decode(&in); err != nil {
		// Torn by a crash during Begin: the create call was never made.
		return nil, nil
	}
	return &in, nil
}
