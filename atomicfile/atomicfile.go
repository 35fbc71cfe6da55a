// Package atomicfile writes files so that a crash or a power loss leaves
// either the old state or the new one, never a torn file, and so that an
// existing file is never overwritten by accident.
//
// [WriteNew] is for outfiles: it fails rather than replace anything.
// [Replace] is for files that are meant to be rewritten (reports, saved
// plans). Both write a temporary file in the same folder, fsync it, put it
// in place, and fsync the folder.
package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrExists is returned by [WriteNew] when the file already exists; the
// existing file is left untouched.
var ErrExists = errors.New("file already exists")

// WriteNew writes data to path with mode 0600 and never replaces an
// existing file: the temporary file is hard-linked to path, which fails if
// path exists, so two writers can never clobber each other.
func WriteNew(path string, data []byte) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s: %w", path, ErrExists)
	}
	tmp, err := writeTemp(path, data)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s: %w", path, ErrExists)
		}
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// Replace writes data to path with mode 0600, replacing any file there in
// one rename.
func Replace(path string, data []byte) error {
	tmp, err := writeTemp(path, data)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// writeTemp writes data, fsync'd, to a new temporary file beside path.
func writeTemp(path string, data []byte) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
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
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// MoveAside renames a file that is being superseded to
// PATH.replaced-TIMESTAMP (adding -2, -3, … if that exists), never
// overwriting anything, and returns the new name.
func MoveAside(path, timestamp string) (string, error) {
	for i := 1; ; i++ {
		dst := path + ".replaced-" + timestamp
		if i > 1 {
			dst = fmt.Sprintf("%s-%d", dst, i)
		}
		err := os.Link(path, dst)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		if err := os.Remove(path); err != nil {
			return "", err
		}
		return dst, SyncDir(filepath.Dir(path))
	}
}

// EnsureDir creates dir (and parents) with mode 0700, so that only the
// operator can list what is in it, and checks that a file can be created
// there.
func EnsureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".mfabulk-probe-*")
	if err != nil {
		return fmt.Errorf("folder is not writable: %w", err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
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
