//go:build unix

package inputfile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestReadRefusesSpecialFilesAtOnce(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := Read(fifo, 10); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Fatalf("reading a FIFO: %v, want ErrNotRegular", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reading a FIFO blocked")
	}
	if _, err := Read("/dev/zero", 10); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("reading /dev/zero: %v", err)
	}
	if _, err := Read(dir, 10); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("reading a folder: %v", err)
	}
}

func TestReadBound(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	os.WriteFile(p, []byte("0123456789"), 0o600)
	if b, err := Read(p, 10); err != nil || string(b) != "0123456789" {
		t.Fatalf("Read = %q, %v", b, err)
	}
	var tl *TooLargeError
	if _, err := Read(p, 9); !errors.As(err, &tl) {
		t.Fatalf("Read over the bound: %v", err)
	}
}

func TestReadInStaysInside(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(outside, []byte("hunter2"), 0o600)
	os.Symlink(outside, filepath.Join(dir, "link"))
	os.WriteFile(filepath.Join(dir, "keys.txt"), []byte("k"), 0o600)
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if b, err := ReadIn(r, "keys.txt", 10); err != nil || string(b) != "k" {
		t.Fatalf("ReadIn = %q, %v", b, err)
	}
	for _, name := range []string{"link", "../secret", outside} {
		if b, err := ReadIn(r, name, 10); err == nil {
			t.Errorf("ReadIn(%q) read %q outside the folder", name, b)
		}
	}
}
