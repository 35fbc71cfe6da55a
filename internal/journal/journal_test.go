//go:build unix

package journal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mfabulk/mfabulk/internal/atomicfile"
)

func openDir(t *testing.T) (*atomicfile.Dir, string) {
	t.Helper()
	base := t.TempDir()
	d, err := atomicfile.OpenDir(base, "out", true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, filepath.Join(base, "out")
}

var alice = Key{Account: "111111111111", Device: "alice", Path: "/"}

func TestIntentLifecycle(t *testing.T) {
	d, dir := openDir(t)
	in := Intent{Device: "alice", Path: "/", Account: "111111111111", Action: "create"}
	l, err := Begin(d, "alice.png.age", in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Begin(d, "alice.png.age", in); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Begin: %v, want ErrBusy", err)
	}
	if st, _ := Inspect(d, "alice.png.age", alice); st.State != Busy {
		t.Fatalf("a live run's intent: %+v, want Busy", st)
	}
	l.Keep()
	st, err := Inspect(d, "alice.png.age", alice)
	if err != nil || st.State != Pending || st.Intent.Device != "alice" {
		t.Fatalf("kept intent: %+v, %v", st, err)
	}
	l, err = Begin(d, "alice.png.age", in)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Done(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, ".alice.png.age.intent")); !os.IsNotExist(err) {
		t.Fatal("Done left the intent file")
	}
}

// Defect 1 of issue 8: a link planted at an intent's name is neither
// followed nor written through.
func TestBeginRefusesLinks(t *testing.T) {
	d, dir := openDir(t)
	canary := filepath.Join(t.TempDir(), "canary")
	os.WriteFile(canary, []byte("keep"), 0o600)
	in := Intent{Device: "alice", Path: "/", Account: "111111111111"}
	os.Symlink(canary, filepath.Join(dir, ".a.intent"))
	os.Symlink("b.age", filepath.Join(dir, ".b.intent")) // inside the folder
	os.WriteFile(filepath.Join(dir, "b.age"), []byte("outfile"), 0o600)
	os.Link(canary, filepath.Join(dir, ".c.intent"))
	for _, name := range []string{"a", "b", "c"} {
		if _, err := Begin(d, name, in); err == nil {
			t.Errorf("Begin through the link at .%s.intent succeeded", name)
		}
		if st, _ := Inspect(d, name, alice); st.State != Foreign {
			t.Errorf("Inspect of the link at .%s.intent: %+v, want Foreign", name, st)
		}
	}
	if b, _ := os.ReadFile(canary); string(b) != "keep" {
		t.Fatalf("canary changed: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "b.age")); string(b) != "outfile" {
		t.Fatalf("outfile changed: %q", b)
	}
}

// Defect 4 of issue 8: an intent counts only for the account, device and
// path it names; malformed and oversized ones are reported, not used.
func TestInspectTrustsOnlyItsOwnIntent(t *testing.T) {
	d, dir := openDir(t)
	other := Intent{Device: "alice", Path: "/", Account: "222222222222"}
	l, err := Begin(d, "alice.png.age", other)
	if err != nil {
		t.Fatal(err)
	}
	l.Keep()
	st, _ := Inspect(d, "alice.png.age", alice)
	if st.State != Foreign || !strings.Contains(st.Reason, "222222222222") {
		t.Fatalf("another account's intent: %+v", st)
	}
	if _, err := Begin(d, "alice.png.age", Intent{Device: "alice", Path: "/", Account: "111111111111"}); err == nil || !strings.Contains(err.Error(), "222222222222") {
		t.Fatalf("Begin over another account's intent: %v", err)
	}
	if st, _ := Inspect(d, "alice.png.age", Key{Account: "222222222222", Device: "alice", Path: "/"}); st.State != Pending {
		t.Fatalf("the other account's intent was lost: %+v", st)
	}
	for content, why := range map[string]string{"null": "well-formed|does not name", "{}": "does not name", "garbage": "well-formed"} {
		os.WriteFile(filepath.Join(dir, ".x.intent"), []byte(content), 0o600)
		if st, _ := Inspect(d, "x", alice); st.State != Foreign {
			t.Errorf("intent %q: %+v, want Foreign (%s)", content, st, why)
		}
	}
	f, _ := os.Create(filepath.Join(dir, ".huge.intent"))
	f.Truncate(400 << 20)
	f.Close()
	if st, _ := Inspect(d, "huge", alice); st.State != Foreign || !strings.Contains(st.Reason, "larger") {
		t.Fatalf("huge intent: %+v", st)
	}
}
