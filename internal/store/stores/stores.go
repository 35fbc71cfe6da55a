// Package stores opens the store of each device, by its manifest's
// `store:` (manifest.Device.Store): the folder next to the manifest
// (internal/store/folder) when it names none, an S3 bucket otherwise. A
// [Set] routes each call to the backends of the devices it is given, so
// that apply, refresh and plan talk to one value whatever their manifests
// name.
//
// Call [New] once per command, pass the Set to what reads and writes
// devices' files, and Close it at the end.
package stores

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"

	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/store"
	"github.com/mfabulk/mfabulk/internal/store/folder"
)

// Options say how to open the stores that are not folders.
type Options struct {
	// OpenS3 opens the S3 store s (its bucket, prefix and KMS key): once
	// per store and Set. nil: a device in an S3 store is an error.
	OpenS3 func(ctx context.Context, s manifest.Store) (store.Backend, error)
}

// errNoS3 is the error of a device in an S3 store when Options.OpenS3 is
// nil.
var errNoS3 = errors.New("S3 stores are not configured")

// Set is every store a command's manifests name, each opened on first use
// and kept open until Close. It is safe for concurrent use.
type Set struct {
	opts Options
	mu   sync.Mutex
	// open and failed are by store: the folder is the zero Store.
	open   map[manifest.Store]store.Backend
	failed map[manifest.Store]error
	order  []manifest.Store // open's keys, in the order opened
}

var _ store.Backend = (*Set)(nil)

// New returns an empty Set.
func New(o Options) *Set {
	return &Set{opts: o, open: map[manifest.Store]store.Backend{}, failed: map[manifest.Store]error{}}
}

// backend returns d's store, opening it on first use; a store that failed
// to open fails the same way again.
func (s *Set) backend(ctx context.Context, d manifest.Device) (store.Backend, error) {
	key := d.Store
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.open[key]; ok {
		return b, nil
	}
	err, ok := s.failed[key]
	if !ok {
		var b store.Backend
		switch {
		case key.IsFolder():
			b = folder.New()
		case s.opts.OpenS3 == nil:
			err = errNoS3
		default:
			b, err = s.opts.OpenS3(ctx, key)
		}
		if err == nil {
			s.open[key] = b
			s.order = append(s.order, key)
			return b, nil
		}
		s.failed[key] = err
	}
	return nil, fmt.Errorf("device %q: store %s: %w", d.Name, key.URL, err)
}

// group is the devices of one store, in the order given.
type group struct {
	backend store.Backend
	devices []manifest.Device
}

// groups splits devices by store, in the order each store first appears.
// A store that cannot be opened is an error naming its first device.
func (s *Set) groups(ctx context.Context, devices []manifest.Device) ([]*group, error) {
	var out []*group
	by := map[manifest.Store]*group{}
	for _, d := range devices {
		g, ok := by[d.Store]
		if !ok {
			b, err := s.backend(ctx, d)
			if err != nil {
				return nil, err
			}
			g = &group{backend: b}
			by[d.Store] = g
			out = append(out, g)
		}
		g.devices = append(g.devices, d)
	}
	return out, nil
}

// Describe names the stores opened so far.
func (s *Set) Describe() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, len(s.order))
	for i, k := range s.order {
		names[i] = s.open[k].Describe()
	}
	return strings.Join(names, ", ")
}

// Check checks each store for its devices (see store.Backend.Check). A
// store that cannot be opened is a problem of its first device; the
// other stores are checked all the same, so that every problem is seen
// at once.
func (s *Set) Check(ctx context.Context, devices []manifest.Device, write bool) []store.Problem {
	var out []store.Problem
	seen := map[manifest.Store]bool{}
	for _, d := range devices {
		if seen[d.Store] {
			continue
		}
		seen[d.Store] = true
		b, err := s.backend(ctx, d)
		if err != nil {
			out = append(out, store.Problem{Device: d.Name, Err: err})
			continue
		}
		var mine []manifest.Device
		for _, e := range devices {
			if e.Store == d.Store {
				mine = append(mine, e)
			}
		}
		out = append(out, b.Check(ctx, mine, write)...)
	}
	return out
}

// Read reads the evidence of every device from its store.
func (s *Set) Read(ctx context.Context, account string, devices []manifest.Device) (map[string]store.Evidence, error) {
	gs, err := s.groups(ctx, devices)
	if err != nil {
		return nil, err
	}
	out := make(map[string]store.Evidence, len(devices))
	for _, g := range gs {
		ev, err := g.backend.Read(ctx, account, g.devices)
		if err != nil {
			return nil, err
		}
		maps.Copy(out, ev)
	}
	return out, nil
}

// Files returns a device's files in its store.
func (s *Set) Files(ctx context.Context, d manifest.Device) (store.Files, error) {
	b, err := s.backend(ctx, d)
	if err != nil {
		return nil, err
	}
	return b.Files(ctx, d)
}

// Owned returns, by serial, the files of account's devices that the
// devices' stores hold records of (see store.Backend.Owned).
func (s *Set) Owned(ctx context.Context, account string, devices []manifest.Device) (map[string]store.Files, error) {
	gs, err := s.groups(ctx, devices)
	if err != nil {
		return nil, err
	}
	out := map[string]store.Files{}
	for _, g := range gs {
		owned, err := g.backend.Owned(ctx, account, g.devices)
		if err != nil {
			return nil, err
		}
		maps.Copy(out, owned)
	}
	return out, nil
}

// Close closes every store opened.
func (s *Set) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, k := range s.order {
		errs = append(errs, s.open[k].Close())
	}
	clear(s.open)
	s.order = nil
	return errors.Join(errs...)
}
