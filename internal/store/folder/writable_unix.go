//go:build unix

package folder

import "golang.org/x/sys/unix"

// checkWritable tells whether the caller may create files in the folder
// at path (access(2)).
func checkWritable(path string) error {
	return unix.Access(path, unix.W_OK|unix.X_OK)
}
