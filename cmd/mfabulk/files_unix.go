//go:build unix

package main

import "golang.org/x/sys/unix"

// noFollow is added to os.OpenFile's flags for files mfabulk creates: a
// symbolic link at the path fails the open instead of being followed.
const noFollow = unix.O_NOFOLLOW | unix.O_CLOEXEC
