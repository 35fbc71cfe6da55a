package folder

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mfabulk/mfabulk/internal/atomicfile"
	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/store"
)

// Read reads what each device's outfile folder holds: the outfile, its
// record, and its intent (journal.Inspect, for account, the device's name
// and path). Folders are opened without following links and checked as
// apply will check them, so that plan trusts no file apply would refuse;
// a device whose folder does not exist yet is left out. Whether the
// record proves its create ID for the outfile's bytes is read only for a
// record that names account, the device and its path: no other is
// evidence of the device.
func (b *Backend) Read(_ context.Context, account string, devices []manifest.Device) (map[string]store.Evidence, error) {
	folders := atomicfile.NewFolders(false)
	defer folders.Close()
	out := make(map[string]store.Evidence, len(devices))
	for _, d := range devices {
		base, rel, name := d.Location()
		dir, err := folders.Open(base, rel)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading the outfile folder of device %q: %w", d.Name, err)
		}
		var ev store.Evidence
		if ev.Outfile, err = dir.Exists(name); err != nil {
			return nil, fmt.Errorf("reading the outfile of device %q: %w", d.Name, err)
		}
		if ev.Outfile {
			if ev.Record, err = journal.ReadRecord(dir, name); err != nil {
				return nil, fmt.Errorf("reading the outfile record of device %q: %w", d.Name, err)
			}
			if rec := ev.Record; rec != nil && rec.Account == account && rec.Device == d.Name && rec.Path == d.Path {
				if ev.Proven, err = rec.Proves(dir, name); err != nil {
					return nil, fmt.Errorf("reading the outfile of device %q: %w", d.Name, err)
				}
			}
			if ev.OutfileSHA256, err = journal.OutfileSHA256(dir, name); err != nil {
				return nil, fmt.Errorf("reading the outfile of device %q: %w", d.Name, err)
			}
		}
		if ev.Intent, err = journal.Inspect(dir, name, journal.Key{Account: account, Device: d.Name, Path: d.Path}); err != nil {
			return nil, fmt.Errorf("reading the journal of device %q: %w", d.Name, err)
		}
		out[d.Name] = ev
	}
	return out, nil
}

// Check checks each device's outfile folder once, as apply's preflight
// needs it. With write (apply), it opens the folder, making it when
// missing, and probes that files can be made in it; the problem names the
// first device of the folder. Without (plan), it changes nothing and
// reports the folders apply will refuse: unsafe ones (the same check,
// atomicfile.OpenDir) and ones this user cannot write to; a folder that
// does not exist yet is judged by its nearest existing parent, in which
// apply will make it.
func (b *Backend) Check(_ context.Context, devices []manifest.Device, write bool) []store.Problem {
	var out []store.Problem
	seen := map[string]bool{}
	for _, d := range devices {
		base, rel, _ := d.Location()
		key := filepath.Join(base, rel)
		if seen[key] {
			continue
		}
		seen[key] = true
		var err error
		if write {
			err = b.checkWrite(base, rel)
		} else {
			err = checkFolder(base, rel)
		}
		if err != nil {
			out = append(out, store.Problem{Device: d.Name, Err: err})
		}
	}
	return out
}

// checkWrite opens the folder rel in base for writing, as Files will,
// and probes it.
func (b *Backend) checkWrite(base, rel string) error {
	dir, err := b.write.Open(base, rel)
	if err != nil {
		return fmt.Errorf("opening the outfile folder: %w", err)
	}
	return dir.Probe()
}

// checkFolder is Check without write, for one folder.
func checkFolder(base, rel string) error {
	for {
		d, err := atomicfile.OpenDir(base, rel, false)
		if errors.Is(err, os.ErrNotExist) && rel != "." {
			rel = filepath.Dir(rel)
			continue
		}
		if err != nil {
			return err
		}
		defer d.Close()
		if err := checkWritable(d.Path()); err != nil {
			return fmt.Errorf("folder %s is not writable by you: %w", d.Path(), err)
		}
		return nil
	}
}

// RecordBeside reads the record apply wrote beside the outfile at path
// (nil when there is none, it cannot be trusted, or its folder is one
// other users can change), and whether it proves its create ID for the
// outfile's bytes (journal.Record.Proves): for show and enroll, which
// open the outfile a person names.
func RecordBeside(outfile string) (rec *journal.Record, proven bool, err error) {
	dir, err := atomicfile.OpenDir(filepath.Dir(outfile), ".", false)
	if err != nil {
		return nil, false, nil
	}
	defer dir.Close()
	name := filepath.Base(outfile)
	rec, err = journal.ReadRecord(dir, name)
	if err != nil || rec == nil {
		return nil, false, nil
	}
	proven, err = rec.Proves(dir, name)
	return rec, proven, err
}
