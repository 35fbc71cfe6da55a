package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestWriteNewNeverClobbers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.age")
	if err := WriteNew(path, []byte("first")); err != nil {
		t.Fatal(err)
	}
	err := WriteNew(path, []byte("second"))
	if !errors.Is(err, ErrExists) {
		t.Fatalf("second WriteNew: got %v, want ErrExists", err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "first" {
		t.Fatalf("file was clobbered: %q", got)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestWriteNewConcurrentWritersOneWins(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.age")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = WriteNew(path, []byte{byte(i)})
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

func TestReplaceAndMoveAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	for _, content := range []string{"one", "two"} {
		if err := Replace(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(path); string(b) != "two" {
		t.Fatalf("Replace left %q", b)
	}
	first, err := MoveAside(path, "T1")
	if err != nil || filepath.Base(first) != "report.json.replaced-T1" {
		t.Fatalf("MoveAside = %q, %v", first, err)
	}
	os.WriteFile(path, []byte("three"), 0o600)
	second, err := MoveAside(path, "T1")
	if err != nil || filepath.Base(second) != "report.json.replaced-T1-2" {
		t.Fatalf("second MoveAside = %q, %v", second, err)
	}
	if b, _ := os.ReadFile(first); string(b) != "two" {
		t.Errorf("the first moved file was overwritten: %q", b)
	}
}
