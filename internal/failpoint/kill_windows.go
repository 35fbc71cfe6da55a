//go:build windows

package failpoint

import "golang.org/x/sys/windows"

// kill ends the process with TerminateProcess, exit code 137 (as a shell
// reports SIGKILL).
func kill() {
	windows.TerminateProcess(windows.CurrentProcess(), 137)
	select {} // never go on
}
