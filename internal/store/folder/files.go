package folder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
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

// ReadOutfile reads the outfile through the open folder, never through a
// link, only when it is a regular file of the caller's with one link and
// no larger than any outfile.
func (h *held) ReadOutfile(context.Context) ([]byte, error) {
	f, err := h.dir.OpenFile(h.name, os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("reading outfile %s: %w", h.Where(), err)
	}
	defer f.Close()
	if err := atomicfile.CheckOwnFile(f); err != nil {
		return nil, fmt.Errorf("reading outfile %s: %w", h.Where(), err)
	}
	data, err := io.ReadAll(io.LimitReader(f, journal.MaxOutfileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading outfile %s: %w", h.Where(), err)
	}
	if len(data) > journal.MaxOutfileSize {
		return nil, fmt.Errorf("reading outfile %s: it is larger than %d bytes, not an outfile of mfabulk's", h.Where(), journal.MaxOutfileSize)
	}
	return data, nil
}

// ReplaceOutfile writes ciphertext to a temporary file in the open
// folder, fsync'd, and renames it over the outfile (atomicfile's
// ReplaceOwn), then syncs the folder: a crash leaves the old outfile or
// the new, whole. Only a regular file of the caller's with one link
// whose bytes are still oldSHA256 is replaced; a link at the name is
// refused, never followed. The intent is held, so no mfabulk run writes
// the outfile between the check and the rename.
func (h *held) ReplaceOutfile(_ context.Context, ciphertext []byte, oldSHA256 string) (string, error) {
	exists, err := h.dir.Exists(h.name)
	if err != nil {
		return "", err
	}
	if !exists {
		return "", fmt.Errorf("replacing outfile %s: it is gone: %w", h.Where(), store.ErrChanged)
	}
	changed := false
	err = h.dir.ReplaceOwn(h.name, ciphertext, func(data []byte) bool {
		sum := sha256.Sum256(data)
		changed = hex.EncodeToString(sum[:]) != oldSHA256
		return !changed
	})
	if changed {
		return "", fmt.Errorf("replacing outfile %s: it changed since it was read: %w", h.Where(), store.ErrChanged)
	}
	if err != nil {
		return "", fmt.Errorf("replacing outfile %s: %w", h.Where(), err)
	}
	sum := sha256.Sum256(ciphertext)
	return hex.EncodeToString(sum[:]), nil
}

func (h *held) WriteRecord(_ context.Context, r journal.Record) error {
	return journal.WriteRecord(h.dir, h.name, r)
}

func (h *held) Rewrite(_ context.Context, in journal.Intent) error { return h.lock.Rewrite(in) }

func (h *held) Done(context.Context) error { return h.lock.Done() }

func (h *held) Keep(context.Context) error { return h.lock.Keep() }
