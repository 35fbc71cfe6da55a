//go:build unix

package atomicfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

func openTemp(t *testing.T) (*Dir, string) {
	t.Helper()
	base := t.TempDir()
	d, err := OpenDir(base, "out", true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, filepath.Join(base, "out")
}

func TestWriteNewNeverClobbers(t *testing.T) {
	d, dir := openTemp(t)
	if err := d.WriteNew("out.age", []byte("first")); err != nil {
		t.Fatal(err)
	}
	err := d.WriteNew("out.age", []byte("second"))
	if !errors.Is(err, ErrExists) {
		t.Fatalf("second WriteNew: got %v, want ErrExists", err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "out.age"))
	if string(got) != "first" {
		t.Fatalf("file was clobbered: %q", got)
	}
	fi, _ := os.Stat(filepath.Join(dir, "out.age"))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("folder mode = %v, want 0700", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestWriteNewConcurrentWritersOneWins(t *testing.T) {
	d, _ := openTemp(t)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.WriteNew("out.age", []byte{byte(i)})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !errors.Is(err, ErrExists) {
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d writers succeeded, want exactly 1", ok)
	}
}

// A symbolic link planted at the outfile's name is never followed.
func TestWriteNewDoesNotFollowLinks(t *testing.T) {
	d, dir := openTemp(t)
	canary := filepath.Join(t.TempDir(), "canary")
	os.WriteFile(canary, []byte("keep"), 0o600)
	os.Symlink(canary, filepath.Join(dir, "out.age"))
	if err := d.WriteNew("out.age", []byte("x")); !errors.Is(err, ErrExists) {
		t.Fatalf("WriteNew over a link: %v", err)
	}
	if b, _ := os.ReadFile(canary); string(b) != "keep" {
		t.Fatalf("canary changed: %q", b)
	}
}

// Defect 2 of issue 8: a folder swapped for a link mid-run cannot redirect
// writes; they land in the folder that was opened and checked.
func TestFolderSwapCannotRedirect(t *testing.T) {
	d, dir := openTemp(t)
	elsewhere := t.TempDir()
	if err := os.Rename(dir, dir+".real"); err != nil {
		t.Fatal(err)
	}
	os.Symlink(elsewhere, dir)
	if err := d.WriteNew("a.age", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Fatalf("write was redirected through the swapped link: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(dir+".real", "a.age")); err != nil {
		t.Fatalf("outfile not in the folder that was opened: %v", err)
	}
	if _, err := OpenDir(filepath.Dir(dir), "out", true); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("OpenDir through a link: %v", err)
	}
}

// Defect 3 of issue 8: folders other users can change are refused.
func TestOpenDirRefusesInsecureFolders(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown")
	}
	for _, tc := range []struct {
		name string
		mode os.FileMode
		uid  int
		ok   bool
	}{
		{"private", 0o700, 0, true},
		{"world-writable", 0o777, 0, false},
		{"group-writable", 0o770, 0, false},
		{"sticky, mine", 0o777 | os.ModeSticky, 0, true},
		{"foreign", 0o700, 65534, false},
		{"sticky, foreign", 0o777 | os.ModeSticky, 65534, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			out := filepath.Join(base, "out")
			os.Mkdir(out, 0o700)
			os.Chmod(out, tc.mode)
			os.Chown(out, tc.uid, tc.uid)
			d, err := OpenDir(base, "out", true)
			if (err == nil) != tc.ok {
				t.Fatalf("OpenDir: %v, want ok=%v", err, tc.ok)
			}
			if err == nil {
				d.Close()
			}
		})
	}
	base := t.TempDir()
	os.Chmod(base, 0o777)
	if _, err := OpenDir(base, ".", true); err == nil {
		t.Fatal("a world-writable manifest folder was accepted")
	}
}

func TestOpenDirMissingWithoutCreate(t *testing.T) {
	if _, err := OpenDir(t.TempDir(), "a/b", false); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("OpenDir of a missing folder: %v", err)
	}
}

func isJSONish(b []byte) bool { return bytes.HasPrefix(b, []byte("{\"mine\"")) }

// Defect 1 of issue 8: a report or saved plan replaces only its own earlier
// output, never a link, a device, or someone's file.
func TestReplaceOwn(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	for _, content := range []string{`{"mine":1}`, `{"mine":2}`} {
		if err := ReplaceOwn(path, []byte(content), isJSONish); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(path); string(b) != `{"mine":2}` {
		t.Fatalf("ReplaceOwn left %q", b)
	}
	canary := filepath.Join(t.TempDir(), "canary")
	os.WriteFile(canary, []byte(`{"mine":"canary"}`), 0o600)
	os.Symlink(canary, filepath.Join(dir, "sym.json"))
	os.Link(canary, filepath.Join(dir, "hard.json"))
	os.WriteFile(filepath.Join(dir, "m.yaml"), []byte("version: 1\n"), 0o644)
	unix.Mknod(filepath.Join(dir, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3)))
	for _, name := range []string{"sym.json", "hard.json", "m.yaml", "null"} {
		err := ReplaceOwn(filepath.Join(dir, name), []byte(`{"mine":3}`), isJSONish)
		if !errors.Is(err, ErrNotOwn) {
			t.Errorf("ReplaceOwn(%s): %v, want ErrNotOwn", name, err)
		}
		if err := CheckReplaceable(filepath.Join(dir, name), isJSONish); !errors.Is(err, ErrNotOwn) {
			t.Errorf("CheckReplaceable(%s): %v, want ErrNotOwn", name, err)
		}
	}
	if b, _ := os.ReadFile(canary); string(b) != `{"mine":"canary"}` {
		t.Fatalf("canary changed: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "m.yaml")); string(b) != "version: 1\n" {
		t.Fatalf("manifest changed: %q", b)
	}
	if fi, err := os.Lstat(filepath.Join(dir, "null")); err == nil && fi.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("device node replaced: %v", fi.Mode())
	}
	if err := CheckReplaceable(filepath.Join(dir, "missing", "r.json"), isJSONish); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("CheckReplaceable in a missing folder: %v", err)
	}
}

func TestMoveAsideAndLongNames(t *testing.T) {
	d, dir := openTemp(t)
	long := strings.Repeat("n", 226) + ".png.age"
	for _, name := range []string{"report.json", long} {
		os.WriteFile(filepath.Join(dir, name), []byte("one"), 0o600)
		first, err := d.MoveAside(name, "20261125T060000Z")
		if err != nil || len(first) > MaxNameLen {
			t.Fatalf("MoveAside(%d bytes) = %q, %v", len(name), first, err)
		}
		os.WriteFile(filepath.Join(dir, name), []byte("two"), 0o600)
		second, err := d.MoveAside(name, "20261125T060000Z")
		if err != nil || second == first || len(second) > MaxNameLen {
			t.Fatalf("second MoveAside = %q, %v", second, err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, first)); string(b) != "one" {
			t.Errorf("the first moved file was overwritten: %q", b)
		}
	}
	if got := AsideName("report.json", "T1", 1); got != "report.json.replaced-T1" {
		t.Errorf("AsideName = %q", got)
	}
}

func TestCleanTemp(t *testing.T) {
	d, dir := openTemp(t)
	os.WriteFile(filepath.Join(dir, ".a.age.tmp-0123456789"), []byte("ct"), 0o600)
	os.WriteFile(filepath.Join(dir, ".b.age.tmp-0123456789"), []byte("ct"), 0o600)
	if n, err := d.CleanTemp("a.age"); n != 1 || err != nil {
		t.Fatalf("CleanTemp = %d, %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".b.age.tmp-0123456789")); err != nil {
		t.Fatal("another file's temporary file was removed")
	}
}
