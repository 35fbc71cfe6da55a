// Package migrate moves a folder's outfiles and records into the S3 store
// their manifests now name, so that a folder's users move in without
// re-issuing a single device: `mfabulk store import`.
//
// For each device of a manifest that names a store, the outfile is where
// the folder would have it (the manifest's folder, then the same key the
// template renders under the prefix), read as the folder's plan reads it:
// the folder opened without following a link and safe from other users,
// the file opened O_NOFOLLOW, a regular file of the caller's with one
// link, bounded (atomicfile, journal). It is copied with its record by
// the store's Import: never over an object (If-None-Match: *), an object
// with the same bytes is a copy already made, one with other bytes is an
// error, and the outfile is read back and its SHA-256 checked. Moved-aside
// outfiles (NAME.replaced-STAMP) are nobody's device and stay behind.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/mfabulk/mfabulk/internal/atomicfile"
	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/store"
)

// Target is what an import needs of a store: its preflight, and a copy
// that never overwrites (s3store.Backend).
type Target interface {
	Check(ctx context.Context, devices []manifest.Device, write bool) []store.Problem
	Import(ctx context.Context, outfile string, ciphertext []byte, rec *journal.Record) (copied bool, err error)
}

// Options say how to open a store.
type Options struct {
	// Open opens the store s, once per store.
	Open func(ctx context.Context, s manifest.Store) (Target, error)
}

// Outcome is what became of one device.
type Outcome int

const (
	Copied       Outcome = iota // written into the store
	AlreadyThere                // the store held the same bytes: a re-run
	NoOutfile                   // the folder holds no outfile of it
	Failed                      // Result.Err says why; nothing was overwritten
)

// Result is one device's import.
type Result struct {
	Device string
	// From is the outfile's path in the folder, as the manifest's path
	// was given; To is its URL in the store.
	From, To string
	Outcome  Outcome
	// NoRecord: the outfile was copied without a record (none beside it).
	NoRecord bool
	Err      error
}

// Report is an import's: the stores' warnings (from Check), and each
// device's result, in the manifests' order.
type Report struct {
	Warnings []store.Problem
	Results  []Result
}

// ErrNoStore is Run's error when no manifest names a store.
var ErrNoStore = errors.New("no manifest names a store")

// Run imports every device of devices whose manifest names a store. Each
// store is opened and checked first, before anything is copied (the
// bucket, its versioning, access to the prefix, as plan checks it): a
// problem that is not a warning stops the import, having copied nothing.
func Run(ctx context.Context, devices []manifest.Device, o Options) (Report, error) {
	var rep Report
	byStore := map[manifest.Store][]manifest.Device{}
	var order []manifest.Store
	for _, d := range devices {
		if d.Store.IsFolder() {
			continue
		}
		if _, ok := byStore[d.Store]; !ok {
			order = append(order, d.Store)
		}
		byStore[d.Store] = append(byStore[d.Store], d)
	}
	if len(order) == 0 {
		return rep, ErrNoStore
	}
	targets := map[manifest.Store]Target{}
	var errs []error
	for _, s := range order {
		t, err := o.Open(ctx, s)
		if err != nil {
			errs = append(errs, fmt.Errorf("store %s: %w", s.URL, err))
			continue
		}
		targets[s] = t
		for _, p := range t.Check(ctx, byStore[s], false) {
			if p.Warning {
				rep.Warnings = append(rep.Warnings, p)
			} else {
				errs = append(errs, p.Err)
			}
		}
	}
	if len(errs) > 0 {
		return rep, fmt.Errorf("checking the store before copying anything: %w", errors.Join(errs...))
	}
	for _, d := range devices {
		if d.Store.IsFolder() {
			continue
		}
		rep.Results = append(rep.Results, importOne(ctx, targets[d.Store], d))
	}
	return rep, nil
}

func importOne(ctx context.Context, t Target, d manifest.Device) Result {
	r := Result{Device: d.Name, To: d.Outfile}
	src, err := folderOf(d)
	if err != nil {
		r.Outcome, r.Err = Failed, err
		return r
	}
	r.From = src.shown
	ct, rec, err := src.read()
	switch {
	case errors.Is(err, errNoOutfile):
		r.Outcome = NoOutfile
		return r
	case err != nil:
		r.Outcome, r.Err = Failed, err
		return r
	}
	r.NoRecord = rec == nil
	copied, err := t.Import(ctx, d.Outfile, ct, rec)
	switch {
	case err != nil:
		r.Outcome, r.Err = Failed, err
	case copied:
		r.Outcome = Copied
	default:
		r.Outcome = AlreadyThere
	}
	return r
}

// source is where the folder would have a device's outfile.
type source struct {
	base, rel, name string // as manifest.Device.Location splits it
	shown           string // the path for people
}

// folderOf finds where the folder keeps d's outfile: the manifest's
// folder joined with the key the template rendered under the store's
// prefix, which must stay inside it (the manifest's key rules already
// refuse "..", "/" first, "//" and "\"; this is checked again).
func folderOf(d manifest.Device) (source, error) {
	key, ok := strings.CutPrefix(d.Outfile, d.Store.URL)
	rel := filepath.FromSlash(key)
	if !ok || !filepath.IsLocal(rel) || d.Pos.File == "" {
		return source{}, fmt.Errorf("outfile %s has no place in the manifest's folder", d.Outfile)
	}
	abs, err := filepath.Abs(filepath.Dir(d.Pos.File))
	if err != nil {
		return source{}, fmt.Errorf("finding the manifest's folder: %w", err)
	}
	fd := manifest.Device{Name: d.Name, Outfile: filepath.Join(abs, rel), Pos: d.Pos}
	base, dir, name := fd.Location()
	return source{base: base, rel: dir, name: name, shown: filepath.Join(filepath.Dir(d.Pos.File), rel)}, nil
}

var errNoOutfile = errors.New("no outfile")

// read reads the outfile and its record as the folder's plan trusts them.
// A folder or outfile that is not there is errNoOutfile. An outfile that
// is a link, not a regular file of the caller's with one link, or too
// large, a record that is there but cannot be trusted, or an intent left
// by an interrupted run, is an error: nothing of the device is copied.
func (s source) read() ([]byte, *journal.Record, error) {
	dir, err := atomicfile.OpenDir(s.base, s.rel, false)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, errNoOutfile
	}
	if err != nil {
		return nil, nil, fmt.Errorf("opening the outfile folder: %w", err)
	}
	defer dir.Close()
	// An intent first: an interrupted run's device may have no outfile
	// yet, and the store would lose its trace.
	if pending, err := dir.Exists(journal.Name(s.name)); err != nil {
		return nil, nil, fmt.Errorf("reading the intent of %s: %w", s.shown, err)
	} else if pending {
		return nil, nil, fmt.Errorf("an interrupted run left an intent beside %s (%s): settle it first with plan and apply on the folder (the manifest without store:)", s.shown, journal.Name(s.name))
	}
	f, err := dir.OpenFile(s.name, os.O_RDONLY, 0)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, nil, errNoOutfile
	case errors.Is(err, syscall.ELOOP):
		return nil, nil, fmt.Errorf("%s is a symbolic link: mfabulk reads no outfile through one", s.shown)
	case err != nil:
		return nil, nil, fmt.Errorf("reading %s: %w", s.shown, err)
	}
	defer f.Close()
	if err := atomicfile.CheckOwnFile(f); err != nil {
		return nil, nil, fmt.Errorf("%s is not an outfile mfabulk wrote: %w", s.shown, err)
	}
	ct, err := io.ReadAll(io.NewSectionReader(f, 0, journal.MaxOutfileSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", s.shown, err)
	}
	if len(ct) > journal.MaxOutfileSize {
		return nil, nil, fmt.Errorf("%s is larger than %d bytes: not an outfile of mfabulk's", s.shown, journal.MaxOutfileSize)
	}
	recName := journal.RecordName(s.name)
	present, err := dir.Exists(recName)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the record of %s: %w", s.shown, err)
	}
	rec, err := journal.ReadRecord(dir, s.name)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the record of %s: %w", s.shown, err)
	}
	if present && rec == nil {
		return nil, nil, fmt.Errorf("the record beside %s (%s) is not one mfabulk can trust (a regular file of yours with one link, well formed): nothing of it was copied", s.shown, recName)
	}
	return ct, rec, nil
}
