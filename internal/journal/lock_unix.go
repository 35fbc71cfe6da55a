//go:build unix

package journal

import (
	"errors"
	"os"
	"syscall"
)

// lockExclusive takes the intent's exclusive flock without waiting;
// busy is true when another open file holds it.
func lockExclusive(f *os.File) (busy bool, err error) {
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	return errors.Is(err, syscall.EWOULDBLOCK), err
}

// lockShared takes a shared flock without waiting; it fails while a live
// run holds the exclusive one.
func lockShared(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
}
