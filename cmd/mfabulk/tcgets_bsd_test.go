//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package main

import "golang.org/x/sys/unix"

// tcgets is the ioctl that reads a terminal's settings.
const tcgets = unix.TIOCGETA
