//go:build windows

package nodump

import (
	"fmt"
	"os"
	"strings"
)

// Apply refuses GOTRACEBACK=wer and GOTRACEBACK=crash: with them a Go
// program on Windows ends a crash by raising an exception, which Windows
// Error Reporting (when enabled, or with LocalDumps configured) can turn
// into a dump of the process's memory on disk. Without them a crashing Go
// program exits with status 2 and no dump, and there is no core file size
// limit to set. Windows has no equivalent of Linux's dumpable flag: a
// debugger or a dump tool (procdump, Task Manager's "Create dump file")
// run by the same user, or an administrator, can still read the process's
// memory.
func Apply() error {
	if tb := os.Getenv("GOTRACEBACK"); strings.Contains(tb, "wer") || strings.Contains(tb, "crash") {
		return fmt.Errorf("GOTRACEBACK=%s would let Windows Error Reporting write the process's memory, seeds included, to a dump file; unset GOTRACEBACK", tb)
	}
	return nil
}
