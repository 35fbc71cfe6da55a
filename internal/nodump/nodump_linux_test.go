package nodump

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestApply checks, from inside, what the cmd/mfabulk test checks from
// outside: no core file size, and not dumpable.
func TestApply(t *testing.T) {
	if err := Apply(); err != nil {
		t.Fatal(err)
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &lim); err != nil || lim.Cur != 0 || lim.Max != 0 {
		t.Errorf("RLIMIT_CORE is %+v (%v), want 0/0", lim, err)
	}
	if d, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0); err != nil || d != 0 {
		t.Errorf("dumpable is %d (%v), want 0", d, err)
	}
}
