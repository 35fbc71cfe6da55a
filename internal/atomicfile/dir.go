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

	"golang.org/x/sys/unix"
)

// Dir is a folder held open. Every name given to its methods is a single
// file name resolved relative to the open folder (the *at system calls),
// and the final name is never followed if it is a symbolic link. os.Root
// does the first half, but follows symbolic links that stay inside the
// folder, even with O_NOFOLLOW; mfabulk refuses every link it did not
// make, so Dir uses openat with O_NOFOLLOW directly.
type Dir struct {
	f    *os.File
	path string // for messages only; never used to reach the folder
}

// Path returns the folder's path as it was opened, for messages.
func (d *Dir) Path() string { return d.path }

// Close releases the folder.
func (d *Dir) Close() error { return d.f.Close() }

// Sync makes the folder's entries durable.
func (d *Dir) Sync() error {
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("syncing folder %s: %w", d.path, err)
	}
	return nil
}

func (d *Dir) fd() int { return int(d.f.Fd()) }

// openDirPath opens a folder the user named, following links on the way.
func openDirPath(path string) (*Dir, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, fmt.Errorf("opening folder: %w", err)
	}
	return &Dir{f: f, path: path}, nil
}

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

// sub opens the folder name inside d, never through a link.
func (d *Dir) sub(name string, create bool) (*Dir, error) {
	path := filepath.Join(d.path, name)
	open := func() (int, error) {
		return unix.Openat(d.fd(), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	fd, err := open()
	if errors.Is(err, unix.ENOENT) && create {
		if err = unix.Mkdirat(d.fd(), name, 0o700); err == nil || errors.Is(err, unix.EEXIST) {
			if err == nil {
				if err := d.Sync(); err != nil {
					return nil, err
				}
			}
			fd, err = open()
		}
	}
	switch {
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR):
		return nil, fmt.Errorf("folder %s is a symbolic link or not a folder: mfabulk never follows a link it did not make", path)
	case errors.Is(err, unix.ENOENT):
		return nil, &os.PathError{Op: "open", Path: path, Err: os.ErrNotExist}
	case err != nil:
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	sub := &Dir{f: os.NewFile(uintptr(fd), path), path: path}
	if err := sub.checkSecure(); err != nil {
		sub.Close()
		return nil, err
	}
	return sub, nil
}

// checkSecure checks the open folder itself (fstat), not its path.
func (d *Dir) checkSecure() error {
	var st unix.Stat_t
	if err := unix.Fstat(d.fd(), &st); err != nil {
		return fmt.Errorf("checking folder %s: %w", d.path, err)
	}
	return CheckSecure(d.path, &st)
}

// CheckSecure refuses a folder that a user other than the caller could
// change: one owned by another user (root excepted), or one that the group
// or others can write, unless it is sticky (others may add entries but not
// rename or remove the caller's) and owned by the caller.
func CheckSecure(path string, st *unix.Stat_t) error {
	uid := uint32(os.Geteuid())
	if st.Uid != uid && st.Uid != 0 {
		return fmt.Errorf("folder %s has unsafe permissions: it is owned by uid %d, not by you (uid %d), and its owner could rename or replace outfiles and intents; chown it to yourself or choose another folder", path, st.Uid, uid)
	}
	if st.Mode&0o022 != 0 && !(st.Mode&unix.S_ISVTX != 0 && st.Uid == uid) {
		return fmt.Errorf("folder %s has unsafe permissions: other users can write it (mode %04o) and could rename or replace outfiles and intents; run: chmod go-w %s", path, st.Mode&0o7777, path)
	}
	return nil
}

// Lstat describes name without following it; ok is false when it does
// not exist.
func (d *Dir) Lstat(name string) (st unix.Stat_t, ok bool, err error) {
	err = unix.Fstatat(d.fd(), name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return st, false, nil
	}
	if err != nil {
		return st, false, &os.PathError{Op: "lstat", Path: filepath.Join(d.path, name), Err: err}
	}
	return st, true, nil
}

// Exists reports whether anything (a file, a link, a folder) is at name.
func (d *Dir) Exists(name string) (bool, error) {
	_, ok, err := d.Lstat(name)
	return ok, err
}

// OpenFile opens name with flags, adding O_NOFOLLOW (a symbolic link at
// name fails with ELOOP) and O_NONBLOCK (a FIFO does not hang the open).
func (d *Dir) OpenFile(name string, flags int, perm uint32) (*os.File, error) {
	fd, err := unix.Openat(d.fd(), name, flags|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, perm)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: filepath.Join(d.path, name), Err: err}
	}
	return os.NewFile(uintptr(fd), filepath.Join(d.path, name)), nil
}

// CheckOwnFile checks an opened file (fstat, not its path): a regular file
// with no other hard link, owned by the caller. Anything else was not made
// by mfabulk and is not to be trusted or written.
func CheckOwnFile(f *os.File) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return fmt.Errorf("%s is not a regular file", f.Name())
	case st.Nlink != 1:
		return fmt.Errorf("%s has %d hard links: mfabulk never writes through a link it did not make", f.Name(), st.Nlink)
	case st.Uid != uint32(os.Geteuid()):
		return fmt.Errorf("%s is owned by uid %d, not by you", f.Name(), st.Uid)
	}
	return nil
}

// Remove removes name (never what a link at name points to).
func (d *Dir) Remove(name string) error {
	if err := unix.Unlinkat(d.fd(), name, 0); err != nil {
		return &os.PathError{Op: "remove", Path: filepath.Join(d.path, name), Err: err}
	}
	return nil
}

func (d *Dir) rename(from, to string) error {
	return unix.Renameat(d.fd(), from, d.fd(), to)
}

// link makes to a new name of from; it fails if to exists, which is what
// makes outfiles impossible to clobber.
func (d *Dir) link(from, to string) error {
	return unix.Linkat(d.fd(), from, d.fd(), to, 0)
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
	if rerr := d.Remove(tmp); err == nil && rerr != nil {
		err = rerr
	}
	if errors.Is(err, unix.EEXIST) {
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

// probe checks that a file can be created in the folder.
func (d *Dir) probe() error {
	tmp, err := d.writeTemp("mfabulk-probe", nil)
	if err != nil {
		return fmt.Errorf("folder %s is not writable: %w", d.path, err)
	}
	return d.Remove(tmp)
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

func (d *Dir) names() ([]string, error) {
	f, err := d.OpenFile(".", os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("listing %s: %w", d.path, err)
	}
	return names, nil
}

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
		if errors.Is(err, unix.EEXIST) {
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
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if errors.Is(err, unix.ELOOP) {
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
