//go:build unix && !linux

package nodump

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Apply sets RLIMIT_CORE to zero; other systems have no portable
// equivalent of Linux's dumpable flag.
func Apply() error {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0}); err != nil {
		return fmt.Errorf("setting the core file size limit to 0: %w", err)
	}
	return nil
}
