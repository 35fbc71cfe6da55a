package atomicfile

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mfabulk/mfabulk/internal/failpoint"
)

// OpenDir opens the folder rel inside base (a manifest's folder) for
// outfiles and intents. No component of rel may be a symbolic link; with
// create, missing components are made with mode 0700. base and every
// folder below it must be safe from other users (see [CheckSecure]), as
// OpenSSH requires of the folders holding keys: another user who can
// rename entries could swap outfiles and intents. Without create, a
// missing folder is an error wrapping [os.ErrNotExist].
func OpenDir(base, rel string, create bool) (*Dir, error) {
	d, err := openDirPath(base)
	if err != nil {
		return nil, err
	}
	if err := d.checkSecure(); err != nil {
		d.Close()
		return nil, err
	}
	rel = filepath.Clean(rel)
	if rel == "." {
		return d, nil
	}
	if filepath.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		d.Close()
		return nil, fmt.Errorf("folder %s is not inside %s", rel, base)
	}
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		next, err := d.sub(part, create)
		d.Close()
		if err != nil {
			return nil, err
		}
		d = next
	}
	return d, nil
}

// WriteNew writes data to name with mode 0600 and never replaces an
// existing file: a temporary file is written and fsync'd, then hard-linked
// to name, which fails if name exists, so two writers can never clobber
// each other; then the folder is fsync'd.
func (d *Dir) WriteNew(name string, data []byte) error {
	if ok, err := d.Exists(name); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("%s: %w", filepath.Join(d.path, name), ErrExists)
	}
	tmp, err := d.writeTemp(name, data)
	if err != nil {
		return err
	}
	err = d.link(tmp, name)
	if err == nil {
		failpoint.Hit(failpoint.OutfileLinked) // the outfile has two names now
	}
	if rerr := d.Remove(tmp); err == nil && rerr != nil {
		err = rerr
	}
	if isExist(err) {
		return fmt.Errorf("%s: %w", filepath.Join(d.path, name), ErrExists)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Join(d.path, name), err)
	}
	return d.Sync()
}

// writeTemp writes data, fsync'd, to a new temporary file for name.
func (d *Dir) writeTemp(name string, data []byte) (string, error) {
	var rnd [5]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", err
	}
	tmp := tempName(name, hex.EncodeToString(rnd[:]))
	f, err := d.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		d.Remove(tmp)
		return "", fmt.Errorf("writing a temporary file in %s: %w", d.path, err)
	}
	return tmp, nil
}

// probe checks that a file can be created in the folder and, where that
// is not a given, hard-linked (see probeLink).
func (d *Dir) probe() error {
	tmp, err := d.writeTemp("mfabulk-probe", nil)
	if err != nil {
		return fmt.Errorf("folder %s is not writable: %w", d.path, err)
	}
	err = d.probeLink(tmp)
	if rerr := d.Remove(tmp); err == nil {
		err = rerr
	}
	return err
}

// Probe checks, before any change is made, that files can be created in
// the folder.
func (d *Dir) Probe() error { return d.probe() }

// CleanTemp removes the temporary files of name left by a run that was
// killed while writing it. The caller must hold name's intent lock, so that
// no live run can be writing them.
func (d *Dir) CleanTemp(name string) (int, error) {
	names, err := d.names()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range names {
		if IsTemp(f, name) {
			if err := d.Remove(f); err != nil {
				return n, err
			}
			n++
		}
	}
	if n > 0 {
		return n, d.Sync()
	}
	return 0, nil
}

// Names lists the folder's entries.
func (d *Dir) Names() ([]string, error) { return d.names() }

// AsideName is the name a superseded file takes: NAME.replaced-STAMP,
// with -2, -3, … for the n-th try. When that would pass the 255-byte
// file-name limit, NAME is shortened and a hash of it keeps it unique, so
// that moving aside never fails for a long name.
func AsideName(name, stamp string, n int) string {
	suffix := ".replaced-" + stamp
	if n > 1 {
		suffix += fmt.Sprintf("-%d", n)
	}
	if len(name)+len(suffix) <= MaxNameLen {
		return name + suffix
	}
	sum := sha256.Sum256([]byte(name))
	tag := "~" + hex.EncodeToString(sum[:4])
	keep := MaxNameLen - len(suffix) - len(tag)
	return name[:keep] + tag + suffix
}

// MoveAside renames a file that is being superseded to its [AsideName],
// never overwriting anything, and returns the new name. It links first and
// removes second, so a crash in between leaves both names, never neither.
func (d *Dir) MoveAside(name, stamp string) (string, error) {
	for i := 1; ; i++ {
		dst := AsideName(name, stamp, i)
		err := d.link(name, dst)
		if isExist(err) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("moving %s aside: %w", filepath.Join(d.path, name), err)
		}
		if err := d.Remove(name); err != nil {
			return "", err
		}
		return dst, d.Sync()
	}
}

// checkReplaceable accepts name when it does not exist, or is a regular
// file with one link that own recognises.
func (d *Dir) checkReplaceable(name string, own func([]byte) bool) error {
	path := filepath.Join(d.path, name)
	f, err := d.OpenFile(name, os.O_RDONLY, 0)
	if isNotExist(err) {
		return nil
	}
	if isLoop(err) {
		return fmt.Errorf("%s is a symbolic link: %w", path, ErrNotOwn)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := CheckOwnFile(f); err != nil {
		return fmt.Errorf("%w: %w", ErrNotOwn, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, 64<<20))
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if !own(data) {
		return fmt.Errorf("%s exists and is not mfabulk's: %w; choose another path or remove it", path, ErrNotOwn)
	}
	return nil
}

// Folders opens each outfile folder once per run and keeps it open, so
// that every device in a folder is written relative to the same checked
// folder.
type Folders struct {
	create bool
	mu     sync.Mutex
	open   map[string]*Dir
	failed map[string]error
}

// NewFolders returns an empty set; with create, missing folders are made.
func NewFolders(create bool) *Folders {
	return &Folders{create: create, open: map[string]*Dir{}, failed: map[string]error{}}
}

// Open returns the folder rel inside base (see [OpenDir]), opening it on
// first use; a folder that failed to open fails the same way again.
func (fs *Folders) Open(base, rel string) (*Dir, error) {
	key := filepath.Join(base, rel)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if d, ok := fs.open[key]; ok {
		return d, nil
	}
	if err, ok := fs.failed[key]; ok {
		return nil, err
	}
	d, err := OpenDir(base, rel, fs.create)
	if err != nil {
		fs.failed[key] = err
		return nil, err
	}
	fs.open[key] = d
	return d, nil
}

// Close closes every folder.
func (fs *Folders) Close() error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var errs []error
	for k, d := range fs.open {
		errs = append(errs, d.Close())
		delete(fs.open, k)
	}
	return errors.Join(errs...)
}

// ReplaceOwn writes data to name in the folder, replacing in one rename
// only a file that own recognises (see the package function [ReplaceOwn]).
func (d *Dir) ReplaceOwn(name string, data []byte, own func([]byte) bool) error {
	if err := d.checkReplaceable(name, own); err != nil {
		return err
	}
	tmp, err := d.writeTemp(name, data)
	if err != nil {
		return err
	}
	if err := d.rename(tmp, name); err != nil {
		d.Remove(tmp)
		return fmt.Errorf("replacing %s: %w", filepath.Join(d.path, name), err)
	}
	return d.Sync()
}
