package seal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"filippo.io/age"
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

func TestEncryptDecryptRoundTrip(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ParseRecipients([]string{id.Recipient().String()})
	if err != nil {
		t.Fatal(err)
	}
	ct, err := Encrypt([]byte("JBSWY3DPEHPK3PXP"), rs)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, []byte("JBSWY3DPEHPK3PXP")) {
		t.Fatal("ciphertext contains the plaintext")
	}
	pt, err := Decrypt(ct, []age.Identity{id})
	if err != nil || string(pt) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("Decrypt = %q, %v", pt, err)
	}
}

func TestParseRecipientErrors(t *testing.T) {
	for _, s := range []string{"", "age1notakey", "ssh-ed25519 AAAA", "pgp-key"} {
		if _, err := ParseRecipient(s); err == nil {
			t.Errorf("ParseRecipient(%q) succeeded", s)
		}
	}
}
