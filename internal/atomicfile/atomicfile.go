// Package atomicfile writes files so that a crash or a power loss leaves
// either the old state or the new one, never a torn file; so that an
// existing file is never overwritten by accident; and so that a hostile
// file system (a symbolic or hard link planted where mfabulk writes, a
// folder swapped for a link mid-run, a folder other users can write) can
// neither redirect a write nor make mfabulk trust a file it did not make.
//
// Outfiles, intents and their temporary files are written inside a [Dir]:
// a folder opened once, checked, and held open, so that every later name is
// resolved relative to that open folder (openat) and a rename or a symbolic
// link swapped in on the path cannot redirect anything. [Dir.WriteNew] is
// for outfiles: it fails rather than replace anything. [ReplaceOwn] is for
// files meant to be rewritten (reports, saved plans): it replaces only a
// file that its caller recognises as its own earlier output.
package atomicfile

import (
	"errors"
	"fmt"
	"path/filepath"
)

// ErrExists is returned by [Dir.WriteNew] when the file already exists;
// the existing file is left untouched.
var ErrExists = errors.New("file already exists")

// ErrNotOwn is returned by [ReplaceOwn] and [CheckReplaceable] when the
// path holds something that is not the caller's earlier output.
var ErrNotOwn = errors.New("refusing to replace a file mfabulk did not write")

// MaxNameLen is the longest file name most file systems allow, in bytes.
const MaxNameLen = 255

// tempName is the name of a temporary file for name: hidden, beside it, and
// recognisable so that a later run can clean up after a killed one.
func tempName(name, random string) string {
	return "." + name + ".tmp-" + random
}

// IsTemp reports whether file is a temporary file of name.
func IsTemp(file, name string) bool {
	p := "." + name + ".tmp-"
	return len(file) > len(p) && file[:len(p)] == p
}

// ReplaceOwn writes data to path with mode 0600, replacing what is there in
// one rename, but only when path does not exist or holds a regular file,
// with no other hard link, that own recognises as the caller's earlier
// output (a previous report, a previous saved plan). Anything else (a
// symbolic link, a device, the manifest, an identity) is refused with
// [ErrNotOwn]. The temporary file is created without following links.
func ReplaceOwn(path string, data []byte, own func([]byte) bool) error {
	d, name, err := openParent(path)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.ReplaceOwn(name, data, own)
}

// CheckReplaceable tells, before any change is made, whether
// [ReplaceOwn] would accept path: its folder exists and is writable, and
// path is absent or the caller's own earlier output.
func CheckReplaceable(path string, own func([]byte) bool) error {
	d, name, err := openParent(path)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.checkReplaceable(name, own); err != nil {
		return err
	}
	return d.probe()
}

// openParent opens the folder of path, which the user named: links on
// the way to it are the user's own choice and are followed.
func openParent(path string) (*Dir, string, error) {
	name := filepath.Base(path)
	if name == "." || name == ".." || name == string(filepath.Separator) {
		return nil, "", fmt.Errorf("%s: not a file name", path)
	}
	d, err := openDirPath(filepath.Dir(path))
	if err != nil {
		return nil, "", err
	}
	return d, name, nil
}
