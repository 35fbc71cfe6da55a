package main

// Attack tests: a hostile or careless co-user of the machine plants links,
// loosens folder permissions, or swaps folders while apply runs. Each test
// names the defect it guards; they assert outcomes (files, bytes, modes,
// exit codes, the calls iamlocal received), not wording.

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
)

const canaryBytes = "canary: a file mfabulk did not make and must never write\n"

// plantCanary writes a file outside out/ that mfabulk must never touch.
func plantCanary(t *testing.T) string {
	t.Helper()
	if err := os.WriteFile("canary", []byte(canaryBytes), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod("canary", 0o644); err != nil {
		t.Fatal(err)
	}
	return "canary"
}

// checkCanary asserts the canary kept its bytes, its mode and its kind.
func checkCanary(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatalf("canary: %v", err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
		t.Errorf("canary's mode changed to %v", fi.Mode())
	}
	if b, _ := os.ReadFile(path); string(b) != canaryBytes {
		t.Errorf("canary was written through a link: now %q", b)
	}
}

// Defect 1(a): an intent path that is a symlink or a hard link to a file
// outside out/ must not be written through: the canary keeps its bytes
// and mode, d000 cannot be worked on (apply exits non-zero) and is not
// created.
func TestAttackIntentLink(t *testing.T) {
	for _, kind := range []string{"symlink", "hardlink"} {
		t.Run(kind, func(t *testing.T) {
			s := newScenario(t, iamlocal.Options{}, 2)
			canary := plantCanary(t)
			if err := os.Mkdir("out", 0o700); err != nil {
				t.Fatal(err)
			}
			intent := filepath.Join("out", ".d000.png.age.intent")
			var err error
			if kind == "symlink" {
				err = os.Symlink("../canary", intent)
			} else {
				err = os.Link(canary, intent)
			}
			if err != nil {
				t.Fatal(err)
			}
			out, code := s.mfabulk("apply", "-f", "m.yaml", "--auto-approve")
			if code == 0 {
				t.Errorf("apply exited 0 with a %s planted at d000's intent:\n%s", kind, lastLines(out, 12))
			}
			checkCanary(t, canary)
			if _, ok := s.srv.Device("d000"); ok {
				t.Errorf("d000 was created although its intent path is a %s", kind)
			}
			s.leakScan()
		})
	}
}

// Defect 3: an outfile folder that others can write to (no sticky bit),
// or that belongs to someone else, lets them plant links and swap files:
// apply refuses it before any AWS mutation. A sticky world-writable folder
// owned by the caller is fine.
func TestAttackInsecureOutfileFolder(t *testing.T) {
	folderMsg := regexp.MustCompile(`(?i)writable|permission|mode`)
	refused := func(t *testing.T, s *scenario, what string) {
		t.Helper()
		out, code := s.mfabulk("apply", "-f", "m.yaml", "--auto-approve")
		if code != 1 {
			t.Errorf("apply with %s exited %d, want 1:\n%s", what, code, lastLines(out, 12))
		}
		if n := s.srv.Requests()["CreateVirtualMFADevice"]; n != 0 {
			t.Errorf("apply with %s made %d CreateVirtualMFADevice calls, want 0", what, n)
		}
		if !folderMsg.MatchString(out) {
			t.Errorf("apply with %s does not say why (folder permissions):\n%s", what, lastLines(out, 12))
		}
		s.leakScan()
	}
	mkOut := func(t *testing.T, mode fs.FileMode, uid int) {
		t.Helper()
		if err := os.Mkdir("out", 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod("out", mode); err != nil { // past the umask
			t.Fatal(err)
		}
		if err := os.Chown("out", uid, -1); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("world-writable", func(t *testing.T) {
		s := newScenario(t, iamlocal.Options{}, 2)
		mkOut(t, 0o777, os.Getuid())
		refused(t, s, "out/ mode 0777")
	})
	t.Run("owned-by-nobody", func(t *testing.T) {
		if os.Getuid() != 0 {
			t.Skip("needs root to give out/ to nobody")
		}
		s := newScenario(t, iamlocal.Options{}, 2)
		mkOut(t, 0o700, 65534)
		refused(t, s, "out/ owned by nobody")
	})
	t.Run("sticky-owned-by-caller", func(t *testing.T) {
		s := newScenario(t, iamlocal.Options{}, 2)
		mkOut(t, 0o777|os.ModeSticky, os.Getuid())
		out, code := s.mfabulk("apply", "-f", "m.yaml", "--auto-approve")
		if code != 0 {
			t.Fatalf("apply into a sticky out/ of the caller exited %d:\n%s", code, lastLines(out, 12))
		}
		s.checkDurable()
		s.leakScan()
	})
	t.Run("manifest-folder-world-writable", func(t *testing.T) {
		s := newScenario(t, iamlocal.Options{}, 2)
		m, err := os.ReadFile("m.yaml")
		if err != nil {
			t.Fatal(err)
		}
		m = bytes.Replace(m, []byte("defaults:\n"), []byte("defaults:\n  outfile: \"{{.Name}}{{.Ext}}.age\"\n"), 1)
		if err := os.WriteFile("m.yaml", m, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(s.dir, 0o777); err != nil {
			t.Fatal(err)
		}
		refused(t, s, "outfiles directly in a world-writable manifest folder")
	})
}

// Defect 11(a): a temporary file left by a killed run (it looks like age
// ciphertext, but was never linked into place) is cleaned up by the next
// successful apply.
func TestAttackStaleTempFileRemoved(t *testing.T) {
	s := newScenario(t, iamlocal.Options{}, 2)
	if err := os.Mkdir("out", 0o700); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join("out", ".d000.png.age.tmp-123456")
	junk := "age-encryption.org/v1\n-> X25519 c3RhbGU\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n\x00\x01\x02torn"
	if err := os.WriteFile(stale, []byte(junk), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := s.mfabulk("apply", "-f", "m.yaml", "--auto-approve")
	if code != 0 {
		t.Fatalf("apply exited %d:\n%s", code, lastLines(out, 12))
	}
	s.checkDurable()
	if _, err := os.Lstat(stale); err == nil {
		t.Errorf("stale temporary file %s is still there after a successful apply", stale)
	}
	s.leakScan()
}

// Defect 2: out/ is swapped for a symlink to a folder elsewhere while
// apply runs (a TOCTOU on the path). Nothing may land in that folder: no
// outfile, no intent, no temporary file. Once out/ is put back, a cron
// run converges: every device has its outfile and no intent is stranded.
func TestAttackOutfileFolderSwappedMidRun(t *testing.T) {
	s := newScenario(t, iamlocal.Options{Faults: iamlocal.Faults{Latency: 200 * time.Millisecond}}, 20)
	elsewhere := t.TempDir()
	cmd := subprocess("apply", "-f", "m.yaml", "--auto-approve", "--parallelism", "2")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	swapped := false
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if m, _ := filepath.Glob(filepath.Join("out", "d*.age")); len(m) > 0 {
			if err := os.Rename("out", "out.real"); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(elsewhere, "out"); err != nil {
				t.Fatal(err)
			}
			swapped = true
			break
		}
	}
	cmd.Wait()
	s.record(out.Bytes())
	if !swapped {
		t.Fatalf("no outfile appeared to swap the folder on:\n%s", lastLines(out.String(), 12))
	}
	t.Logf("apply during the swap: %s", lastLines(out.String(), 1))

	entries, _ := os.ReadDir(elsewhere)
	for _, e := range entries {
		t.Errorf("apply wrote %s into the folder out/ was swapped for", e.Name())
	}

	// Put out/ back and let a cron job converge.
	if err := os.Remove("out"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename("out.real", "out"); err != nil {
		t.Fatal(err)
	}
	s.converge(2)
	s.checkDurable()
	for _, root := range []string{s.dir, elsewhere} {
		filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(path, ".intent") {
				t.Errorf("intent stranded after convergence: %s", path)
			}
			return nil
		})
	}
	s.leakScan()
}
