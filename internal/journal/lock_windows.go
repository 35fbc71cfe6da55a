//go:build windows

package journal

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// The intent's lock on Windows is LockFileEx on the whole file (every
// byte from 0): like flock it belongs to the open handle and is released
// when the handle is closed or the process ends, however it ends.
const allBytes = ^uint32(0)

// lockExclusive takes the intent's exclusive lock without waiting; busy
// is true when another open handle holds a lock on it.
func lockExclusive(f *os.File) (busy bool, err error) {
	err = windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY,
		0, allBytes, allBytes, &windows.Overlapped{})
	return errors.Is(err, windows.ERROR_LOCK_VIOLATION), err
}

// lockShared takes a shared lock without waiting; it fails while a live
// run holds the exclusive one.
func lockShared(f *os.File) error {
	return windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_FAIL_IMMEDIATELY,
		0, allBytes, allBytes, &windows.Overlapped{})
}
