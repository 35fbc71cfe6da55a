//go:build windows

package iamclient

import (
	"errors"

	"golang.org/x/sys/windows"
)

// isConnRefused: Windows reports a refused connection as WSAECONNREFUSED,
// which is not syscall.ECONNREFUSED.
func isConnRefused(err error) bool { return errors.Is(err, windows.WSAECONNREFUSED) }

// isConnReset: Windows reports a reset connection as WSAECONNRESET, one
// aborted while the request was being written as WSAECONNABORTED.
func isConnReset(err error) bool {
	return errors.Is(err, windows.WSAECONNRESET) || errors.Is(err, windows.WSAECONNABORTED)
}
