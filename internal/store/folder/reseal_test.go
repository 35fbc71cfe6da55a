package folder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/store"
)

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// A re-seal replaces the outfile in place, only while it is still the
// bytes it read, leaves no copy of the old ciphertext beside it, and
// never writes through a link at the outfile's name.
func TestReplaceOutfile(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	d := testDevice(t, base, "alice")
	b := New()
	t.Cleanup(func() { b.Close() })
	if ps := b.Check(ctx, nil, true); len(ps) != 0 {
		t.Fatal(ps)
	}
	f, err := b.Files(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	createID, proof := journal.NewCreateID()
	held, err := f.Begin(ctx, intent(d, createID, proof), store.Seen{})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Done(ctx)
	if _, err := held.ReplaceOutfile(ctx, []byte("new"), sum([]byte("old"))); !errors.Is(err, store.ErrChanged) {
		t.Fatalf("ReplaceOutfile of no outfile = %v, want store.ErrChanged", err)
	}
	if _, err := held.WriteOutfile(ctx, []byte("old")); err != nil {
		t.Fatal(err)
	}
	got, err := held.ReadOutfile(ctx)
	if err != nil || string(got) != "old" {
		t.Fatalf("ReadOutfile = %q, %v", got, err)
	}
	// Changed since it was read: refused, and left as it is.
	if _, err := held.ReplaceOutfile(ctx, []byte("new"), sum([]byte("something else"))); !errors.Is(err, store.ErrChanged) {
		t.Fatalf("ReplaceOutfile of changed bytes = %v, want store.ErrChanged", err)
	}
	if b, _ := os.ReadFile(d.Outfile); string(b) != "old" {
		t.Fatalf("a refused ReplaceOutfile changed the outfile to %q", b)
	}
	s, err := held.ReplaceOutfile(ctx, []byte("new"), sum([]byte("old")))
	if err != nil || s != sum([]byte("new")) {
		t.Fatalf("ReplaceOutfile = %q, %v; want the new bytes' SHA-256", s, err)
	}
	if b, _ := os.ReadFile(d.Outfile); string(b) != "new" {
		t.Fatalf("the outfile holds %q, want the new bytes", b)
	}
	if st, err := os.Stat(d.Outfile); err != nil || (runtime.GOOS != "windows" && st.Mode().Perm() != 0o600) {
		t.Fatalf("the replaced outfile: %v, %v; want mode 0600", st.Mode(), err)
	}
	names := dirNames(t, filepath.Join(base, "out"))
	if want := []string{".alice.age.intent", "alice.age"}; !slices.Equal(names, want) {
		t.Errorf("the folder holds %v, want %v: no copy of the old ciphertext, no temporary file", names, want)
	}

	// A link at the outfile's name is refused, never followed.
	if runtime.GOOS == "windows" {
		return
	}
	target := filepath.Join(base, "elsewhere")
	if err := os.WriteFile(target, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(d.Outfile)
	if err := os.Symlink(target, d.Outfile); err != nil {
		t.Fatal(err)
	}
	if _, err := held.ReplaceOutfile(ctx, []byte("newer"), sum([]byte("new"))); err == nil {
		t.Fatal("ReplaceOutfile replaced a symbolic link at the outfile's name")
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Fatalf("ReplaceOutfile wrote through a link: its target holds %q", b)
	}
	if _, err := held.ReadOutfile(ctx); err == nil {
		t.Fatal("ReadOutfile read through a link")
	}
}
