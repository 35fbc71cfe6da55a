package folder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/mfabulk/mfabulk/internal/atomicfile"
	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/store"
)

// files is one device's files in its folder, held open.
type files struct {
	dir  *atomicfile.Dir
	name string // the outfile's name in dir
	// folder is the outfile's folder as people know it: the manifest's
	// outfile's, or the open folder's path (Owned).
	folder string
	// temps: the folder held temporary files of the outfile when it was
	// listed, left by a run killed while writing it.
	temps bool
}

func (f *files) Where() string { return filepath.Join(f.folder, f.name) }

func (f *files) Exists(context.Context) (bool, error) { return f.dir.Exists(f.name) }

// MoveAside links the outfile to NAME.replaced-STAMP, then removes NAME
// (atomicfile.Dir.MoveAside), and returns the new path.
func (f *files) MoveAside(_ context.Context, stamp string) (string, error) {
	aside, err := f.dir.MoveAside(f.name, stamp)
	if err != nil {
		return "", err
	}
	return filepath.Join(f.folder, aside), nil
}

// Begin records and locks the intent (journal.Begin). Holding it, no live
// run can be writing this outfile: the temporary files of a killed run
// can go. Only where the folder's one listing saw some: a run killed
// since leaves them to the next apply. A run killed between linking the
// outfile and removing its temporary name left the outfile with two
// links, which no record is bound to: they are removed before anything
// else is done with the outfile.
func (f *files) Begin(_ context.Context, in journal.Intent, seen store.Seen) (store.Held, error) {
	lock, err := journal.Begin(f.dir, f.name, in, journal.Seen{Present: seen.Present, CreateID: seen.CreateID})
	if err != nil {
		return nil, err
	}
	if f.temps {
		if _, err := f.dir.CleanTemp(f.name); err != nil {
			err = fmt.Errorf("cleaning up after an earlier run: %w", err)
			if kerr := lock.Keep(); kerr != nil {
				err = errors.Join(err, fmt.Errorf("releasing the intent: %w", kerr))
			}
			return nil, err
		}
	}
	return &held{files: f, lock: lock}, nil
}

// held is a device's intent, locked by this run.
type held struct {
	*files
	lock *journal.Lock
}

// WriteOutfile links a new outfile into place (atomicfile.Dir.WriteNew),
// never over an existing one.
func (h *held) WriteOutfile(_ context.Context, ciphertext []byte) (string, error) {
	if err := h.dir.WriteNew(h.name, ciphertext); err != nil {
		if errors.Is(err, atomicfile.ErrExists) {
			return "", existsError{err}
		}
		return "", err
	}
	sum := sha256.Sum256(ciphertext)
	return hex.EncodeToString(sum[:]), nil
}

// existsError keeps atomicfile's message, which names the path, and is
// store.ErrExists too.
type existsError struct{ err error }

func (e existsError) Error() string   { return e.err.Error() }
func (e existsError) Unwrap() []error { return []error{e.err, store.ErrExists} }

func (h *held) OutfileSHA256(context.Context) (string, error) {
	return journal.OutfileSHA256(h.dir, h.name)
}

func (h *held) WriteRecord(_ context.Context, r journal.Record) error {
	return journal.WriteRecord(h.dir, h.name, r)
}

func (h *held) Done(context.Context) error { return h.lock.Done() }

func (h *held) Keep(context.Context) error { return h.lock.Keep() }
