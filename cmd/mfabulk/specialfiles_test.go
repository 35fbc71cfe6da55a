//go:build unix

package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
)

// TestSpecialFilesDoNotHang hands mfabulk a FIFO (which would block an
// open or a read forever) or /dev/zero (which never ends) wherever it
// reads a file: each is refused at once, with an error naming the file.
func TestSpecialFilesDoNotHang(t *testing.T) {
	s := newScenario(t, iamlocal.Options{}, 1)
	if _, code := s.mfabulk("apply", "-f", "m.yaml", "--auto-approve"); code != 0 {
		t.Fatal("setup apply failed")
	}
	if err := syscall.Mkfifo("fifo", 0o600); err != nil {
		t.Fatal(err)
	}
	outfile := s.outfile("d000")
	for _, tt := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"--config FIFO", nil, []string{"config", "--config", "fifo"}, "config file: read fifo: not a regular file"},
		{"MFABULK_CONFIG FIFO", []string{"MFABULK_CONFIG=fifo"}, []string{"config"}, "config file: read fifo: not a regular file"},
		{"saved plan FIFO", nil, []string{"apply", "fifo"}, "reading saved plan: read fifo: not a regular file"},
		{"identity FIFO", nil, []string{"show", "--force", "-i", "fifo", outfile}, "reading identity: read fifo: not a regular file"},
		{"identity /dev/zero", nil, []string{"show", "--force", "-i", "/dev/zero", outfile}, "reading identity: read /dev/zero: not a regular file"},
		{"outfile FIFO", nil, []string{"show", "--force", "-i", "identity.txt", "fifo"}, "reading outfile: read fifo: not a regular file"},
		{"outfile /dev/zero", nil, []string{"show", "--force", "-i", "identity.txt", "/dev/zero"}, "reading outfile: read /dev/zero: not a regular file"},
		{"./mfabulk.yaml FIFO", nil, []string{"config"}, "config file: read mfabulk.yaml: not a regular file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "./mfabulk.yaml FIFO" {
				if err := syscall.Mkfifo("mfabulk.yaml", 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cmd, out := startChildEnv(t, tt.env, tt.args...)
			code, took := waitExit(t, cmd, 10*time.Second)
			s.record([]byte(out.String()))
			if code != exitError || !strings.Contains(out.String(), "mfabulk: error: "+tt.want) {
				t.Errorf("exit %d after %v, want 1 and %q:\n%s", code, took.Round(time.Millisecond), tt.want, lastLines(out.String(), 5))
			}
		})
	}
	if err := os.Remove("mfabulk.yaml"); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	// A big identity file is refused by its size, not read whole.
	big := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(big, make([]byte, 2<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := s.mfabulk("show", "--force", "-i", big, outfile); code != exitError || !strings.Contains(out, "larger than 1048576 bytes") {
		t.Errorf("a 2 MiB identity: exit %d:\n%s", code, out)
	}
	s.leakScan()
}
