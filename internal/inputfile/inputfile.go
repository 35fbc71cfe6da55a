// Package inputfile reads the files mfabulk is handed (manifests,
// recipients files, config files, saved plans, identities) so that none of
// them can hang the program or exhaust its memory: a file is opened without
// blocking (a FIFO would otherwise wait forever for a writer), checked to be
// a regular file on the descriptor that was opened (not on the path before
// opening, which another process could swap), and read through a bound.
//
// Use [Read] for a path given by the user, and [ReadIn] for a path that
// must stay inside a folder (an [os.Root]), such as a manifest's
// recipients files.
package inputfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// ErrNotRegular is returned for a FIFO, a device, a socket or a folder.
var ErrNotRegular = errors.New("not a regular file")

// TooLargeError is returned when a file is larger than the bound.
type TooLargeError struct{ Max int64 }

func (e *TooLargeError) Error() string { return fmt.Sprintf("larger than %d bytes", e.Max) }

// flags open for reading without blocking on a FIFO and without becoming
// the controlling terminal of a tty. Windows ignores both: its file system
// has no FIFOs, and opening a device (CON, NUL, a named pipe) does not
// wait; read refuses it as not a regular file.
const flags = os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOCTTY

// Read reads at most max bytes of the regular file at path.
func Read(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, flags, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return read(f, path, max)
}

// ReadIn reads at most max bytes of the regular file name inside root;
// a name that leaves root, by ".." or through a symbolic link, is refused
// by [os.Root].
func ReadIn(root *os.Root, name string, max int64) ([]byte, error) {
	f, err := root.OpenFile(name, flags, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return read(f, name, max)
}

func read(f *os.File, name string, max int64) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &os.PathError{Op: "read", Path: name, Err: ErrNotRegular}
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, &os.PathError{Op: "read", Path: name, Err: &TooLargeError{Max: max}}
	}
	return data, nil
}
