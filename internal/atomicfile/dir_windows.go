//go:build windows

package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Dir is a folder held open. Every name given to its methods is a single
// file name resolved relative to the open folder, never through its path,
// and the final name is never followed if it is a reparse point (a
// symbolic link, a junction, or any other kind).
//
// On Windows a Dir holds an [os.Root] for what the standard library does
// without following the final name (Lstat, Mkdir, Link, Rename, Remove:
// Link fails if the new name exists, as linkat does), and a handle of the
// folder itself, relative to which files are opened with NtCreateFile and
// FILE_OPEN_REPARSE_POINT, the Windows O_NOFOLLOW: [os.Root.OpenFile]
// follows links that stay inside the folder, and mfabulk refuses every
// link it did not make.
type Dir struct {
	root *os.Root
	f    *os.File // the folder itself: opens are relative to it
	path string   // for messages only; never used to reach the folder
}

// Path returns the folder's path as it was opened, for messages.
func (d *Dir) Path() string { return d.path }

// Close releases the folder.
func (d *Dir) Close() error { return errors.Join(d.f.Close(), d.root.Close()) }

// Sync does nothing on Windows: FlushFileBuffers does not accept a
// folder, and Windows has no other way to flush a folder's entries. File
// contents are flushed ([os.File.Sync]) before a file is given its name;
// NTFS journals the name itself, but a power loss in the seconds after a
// write may lose the newest names. The README says so.
func (d *Dir) Sync() error { return nil }

// SyncDir does nothing on Windows; see [Dir.Sync].
func SyncDir(dir string) error { return nil }

// openDirPath opens a folder the user named, following links on the way.
func openDirPath(path string) (*Dir, error) {
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("opening folder: %w", err)
	}
	f, err := root.Open(".")
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("opening folder: %w", err)
	}
	return &Dir{root: root, f: f, path: path}, nil
}

// checkName refuses what is not a single file name: a separator would
// reach into another folder, and a colon names an alternate data stream.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\:`) {
		return fmt.Errorf("%q is not a single file name", name)
	}
	return nil
}

// sub opens the folder name inside d, never through a link. os.Root
// follows a link that stays inside d, so the folder opened is checked to
// be the very folder at name, and name to be no link, after the open.
func (d *Dir) sub(name string, create bool) (*Dir, error) {
	path := filepath.Join(d.path, name)
	if err := checkName(name); err != nil {
		return nil, err
	}
	root, err := d.root.OpenRoot(name)
	if errors.Is(err, os.ErrNotExist) && create {
		if err = d.root.Mkdir(name, 0o700); err == nil || errors.Is(err, os.ErrExist) {
			root, err = d.root.OpenRoot(name)
		}
	}
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, &os.PathError{Op: "open", Path: path, Err: os.ErrNotExist}
	case err != nil:
		return nil, fmt.Errorf("folder %s is a link, a reparse point or not a folder, or cannot be opened: %w", path, err)
	}
	sub := &Dir{root: root, path: path}
	if sub.f, err = root.Open("."); err != nil {
		root.Close()
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	held, err := sub.f.Stat()
	if err != nil {
		sub.Close()
		return nil, err
	}
	named, err := d.root.Lstat(name)
	if err != nil {
		sub.Close()
		return nil, err
	}
	if !named.IsDir() || named.Mode()&(os.ModeSymlink|os.ModeIrregular) != 0 || !os.SameFile(held, named) {
		sub.Close()
		return nil, fmt.Errorf("folder %s is a symbolic link, a junction or not a folder: mfabulk never follows a link it did not make", path)
	}
	if err := sub.checkSecure(); err != nil {
		sub.Close()
		return nil, err
	}
	return sub, nil
}

// handle is the folder's handle; d.f stays referenced while it is used.
func (d *Dir) handle() windows.Handle { return windows.Handle(d.f.Fd()) }

// checkSecure checks the open folder itself (by its handle), not its path.
func (d *Dir) checkSecure() error {
	return checkSecureHandle(d.path, d.handle())
}

// Exists reports whether anything (a file, a link, a folder) is at name.
func (d *Dir) Exists(name string) (bool, error) {
	if err := checkName(name); err != nil {
		return false, err
	}
	_, err := d.root.Lstat(name)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// OpenFile opens the file name with flags (os.O_RDONLY, os.O_WRONLY or
// os.O_RDWR, with os.O_CREATE and os.O_EXCL) without following it: a
// reparse point at name (a symbolic link, a junction) fails with
// syscall.ELOOP, as O_NOFOLLOW does on Unix. perm is ignored: Windows has
// no mode bits, and a new file takes the folder's inherited ACL.
func (d *Dir) OpenFile(name string, flags int, perm uint32) (*os.File, error) {
	path := filepath.Join(d.path, name)
	h, err := d.openat(name, flags)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		windows.CloseHandle(h)
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	if info.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0 {
		windows.CloseHandle(h)
		return nil, &os.PathError{Op: "open", Path: path, Err: syscall.ELOOP}
	}
	return os.NewFile(uintptr(h), path), nil
}

// openat is NtCreateFile of name relative to the folder's handle, with
// FILE_OPEN_REPARSE_POINT so that a reparse point is opened itself and
// never followed. Only the flags mfabulk uses are accepted.
func (d *Dir) openat(name string, flags int) (windows.Handle, error) {
	if err := checkName(name); err != nil {
		return windows.InvalidHandle, err
	}
	const known = os.O_RDONLY | os.O_WRONLY | os.O_RDWR | os.O_CREATE | os.O_EXCL
	if flags&^known != 0 {
		return windows.InvalidHandle, fmt.Errorf("open flags %#x are not supported on Windows", flags&^known)
	}
	// A read may open a folder, which CheckOwnFile then refuses as not a
	// regular file, as on unix; a write may not.
	access := uint32(windows.SYNCHRONIZE | windows.READ_CONTROL | windows.FILE_READ_ATTRIBUTES)
	options := uint32(windows.FILE_SYNCHRONOUS_IO_NONALERT | windows.FILE_OPEN_REPARSE_POINT)
	switch flags & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR) {
	case os.O_RDONLY:
		access |= windows.FILE_GENERIC_READ
	case os.O_WRONLY:
		access |= windows.FILE_GENERIC_WRITE
		options |= windows.FILE_NON_DIRECTORY_FILE
	default:
		access |= windows.FILE_GENERIC_READ | windows.FILE_GENERIC_WRITE
		options |= windows.FILE_NON_DIRECTORY_FILE
	}
	disposition := uint32(windows.FILE_OPEN)
	switch {
	case flags&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL:
		disposition = windows.FILE_CREATE // fails if anything, a link too, is there
	case flags&os.O_CREATE != 0:
		disposition = windows.FILE_OPEN_IF
	}
	objName, err := windows.NewNTUnicodeString(name)
	if err != nil {
		return windows.InvalidHandle, err
	}
	attrs := &windows.OBJECT_ATTRIBUTES{
		RootDirectory: d.handle(),
		ObjectName:    objName,
		Attributes:    windows.OBJ_CASE_INSENSITIVE, // no OBJ_INHERIT: the handle is not inherited
	}
	attrs.Length = uint32(unsafe.Sizeof(*attrs))
	var h windows.Handle
	err = windows.NtCreateFile(&h, access, attrs, &windows.IO_STATUS_BLOCK{}, nil,
		windows.FILE_ATTRIBUTE_NORMAL,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		disposition, options, 0, 0)
	runtime.KeepAlive(d.f)
	if st, ok := err.(windows.NTStatus); ok {
		return windows.InvalidHandle, st.Errno()
	}
	if err != nil {
		return windows.InvalidHandle, err
	}
	return h, nil
}

// CheckOwnFile checks an opened file (by its handle, not its path): a
// regular file with no other hard link, owned by the caller (the user, or
// the owner the caller's token gives new files, such as Administrators
// when elevated). Anything else was not made by mfabulk and is not to be
// trusted or written.
func CheckOwnFile(f *os.File) error {
	h := windows.Handle(f.Fd())
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		return err
	}
	switch {
	case info.FileAttributes&(windows.FILE_ATTRIBUTE_REPARSE_POINT|windows.FILE_ATTRIBUTE_DIRECTORY|windows.FILE_ATTRIBUTE_DEVICE) != 0:
		return fmt.Errorf("%s is not a regular file", f.Name())
	case info.NumberOfLinks != 1:
		return fmt.Errorf("%s has %d hard links: mfabulk never writes through a link it did not make", f.Name(), info.NumberOfLinks)
	}
	if t, err := windows.GetFileType(h); err != nil || t != windows.FILE_TYPE_DISK {
		return fmt.Errorf("%s is not a regular file", f.Name())
	}
	owner, err := ownerOf(h)
	if err != nil {
		return fmt.Errorf("reading the owner of %s: %w", f.Name(), err)
	}
	if ok, err := isCaller(owner); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("%s is owned by %s, not by you", f.Name(), owner)
	}
	return nil
}

// Remove removes name (never what a link at name points to).
func (d *Dir) Remove(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	return d.root.Remove(name)
}

// rename replaces to with from (FILE_RENAME_INFORMATION with
// REPLACE_IF_EXISTS, relative to the folder): used only where the caller
// replaces its own earlier file.
func (d *Dir) rename(from, to string) error {
	if err := errors.Join(checkName(from), checkName(to)); err != nil {
		return err
	}
	return d.root.Rename(from, to)
}

// link makes to a new name of from; it fails if to exists (the
// FILE_LINK_INFORMATION of os.Root.Link does not replace), which is what
// makes outfiles impossible to clobber. A file system without hard links
// (FAT, exFAT) fails here, and mfabulk writes no outfile there.
func (d *Dir) link(from, to string) error {
	if err := errors.Join(checkName(from), checkName(to)); err != nil {
		return err
	}
	return d.root.Link(from, to)
}

// probeLink checks that the folder's file system has hard links, which
// outfiles are written with: FAT and exFAT do not, and there apply must
// stop at the probe, before any change in IAM, not after a create.
func (d *Dir) probeLink(tmp string) error {
	link := tmp + "-link"
	if err := d.link(tmp, link); err != nil {
		return fmt.Errorf("folder %s cannot hold outfiles: its file system has no hard links (FAT, exFAT?), which mfabulk writes outfiles with so as never to overwrite one; use an NTFS or ReFS folder: %w", d.path, err)
	}
	return d.Remove(link)
}

func (d *Dir) names() ([]string, error) {
	f, err := d.root.Open(".")
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

func isExist(err error) bool    { return errors.Is(err, os.ErrExist) }
func isNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }
func isLoop(err error) bool     { return errors.Is(err, syscall.ELOOP) }
