//go:build unix

package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

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

// SyncDir makes a folder's entries durable: without it a power loss can
// leave a file whose data was synced but whose name was not.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// probeLink does nothing on unix, whose file systems have hard links.
func (d *Dir) probeLink(tmp string) error { return nil }

func isExist(err error) bool    { return errors.Is(err, unix.EEXIST) }
func isNotExist(err error) bool { return errors.Is(err, unix.ENOENT) }
func isLoop(err error) bool     { return errors.Is(err, unix.ELOOP) }
