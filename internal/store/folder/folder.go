// Package folder is the store of outfiles, records and intents in folders
// next to the manifests: each outfile's folder is opened once per run and
// held open (atomicfile.Folders), files in it are reached only relative to
// it and never through a link, outfiles are linked into place and never
// overwritten, and intents are flock'd (journal). It implements
// store.Backend; the file names are .NAME.intent, .NAME.id and
// NAME.replaced-STAMP beside the outfile NAME.
//
// Call [New] once per command and [Backend.Close] at its end.
package folder

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mfabulk/mfabulk/internal/atomicfile"
	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/store"
)

// Backend is the folder store. It is safe for concurrent use.
type Backend struct {
	// write holds the folders written to (Files, Check with write):
	// missing ones are made.
	write *atomicfile.Folders
	mu    sync.Mutex
	// temps is each written folder's one listing: the names whose
	// temporary files (atomicfile.IsTemp) it held, left by killed runs.
	temps map[*atomicfile.Dir]map[string]bool
	// owned are the folders Owned opened, held open for the Files it
	// returned until Close.
	owned []*atomicfile.Folders
}

var _ store.Backend = (*Backend)(nil)

// New returns the folder store.
func New() *Backend {
	return &Backend{write: atomicfile.NewFolders(true), temps: map[*atomicfile.Dir]map[string]bool{}}
}

// Describe names the store for people.
func (b *Backend) Describe() string { return "the outfile folders" }

// Close closes every folder. Every write through them was synced when it
// was made, so closing can lose nothing.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	errs := []error{b.write.Close()}
	for _, fs := range b.owned {
		errs = append(errs, fs.Close())
	}
	b.owned = nil
	return errors.Join(errs...)
}

// Files opens the device's outfile folder (made when missing) and returns
// its files there. The folder is listed once, on its first device, for
// the temporary files a killed run left: Begin removes a device's, holding
// its intent. Listing it for each device would cost O(devices²).
func (b *Backend) Files(_ context.Context, d manifest.Device) (store.Files, error) {
	base, rel, name := d.Location()
	dir, err := b.write.Open(base, rel)
	if err != nil {
		return nil, fmt.Errorf("opening the outfile folder: %w", err)
	}
	temps, err := b.tempsOf(dir)
	if err != nil {
		return nil, err
	}
	return &files{dir: dir, name: name, folder: filepath.Dir(d.Outfile), temps: temps[name]}, nil
}

// tempsOf lists dir once per Backend (see Files).
func (b *Backend) tempsOf(dir *atomicfile.Dir) (map[string]bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t, ok := b.temps[dir]; ok {
		return t, nil
	}
	t, err := tempsIn(dir)
	if err != nil {
		return nil, err
	}
	b.temps[dir] = t
	return t, nil
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

// Owned finds, through the records in devices' outfile folders, the
// outfile of each device account holds, by serial, so that pruning a
// device can move its outfile aside. A folder that does not exist holds
// none.
func (b *Backend) Owned(_ context.Context, account string, devices []manifest.Device) (map[string]store.Files, error) {
	folders := atomicfile.NewFolders(false)
	b.mu.Lock()
	b.owned = append(b.owned, folders)
	b.mu.Unlock()
	out := map[string]store.Files{}
	seen := map[*atomicfile.Dir]bool{}
	for _, d := range devices {
		base, rel, _ := d.Location()
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
			if rec != nil && rec.Account == account {
				out[rec.Serial] = &files{dir: dir, name: name, folder: dir.Path()}
			}
		}
	}
	return out, nil
}
