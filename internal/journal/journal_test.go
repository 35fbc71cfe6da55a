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
	l, err := Begin(d, "alice.png.age", in, Seen{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Begin(d, "alice.png.age", in, Seen{}); !errors.Is(err, ErrBusy) {
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
	l, err = Begin(d, "alice.png.age", in, Seen{Present: true})
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
		if _, err := Begin(d, name, in, Seen{}); err == nil {
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
	l, err := Begin(d, "alice.png.age", other, Seen{})
	if err != nil {
		t.Fatal(err)
	}
	l.Keep()
	st, _ := Inspect(d, "alice.png.age", alice)
	if st.State != Foreign || !strings.Contains(st.Reason, "222222222222") {
		t.Fatalf("another account's intent: %+v", st)
	}
	if _, err := Begin(d, "alice.png.age", Intent{Device: "alice", Path: "/", Account: "111111111111"}, Seen{}); err == nil || !strings.Contains(err.Error(), "222222222222") {
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

// Review finding 1: an intent is taken over only while it is the one the
// plan saw, present or absent, with the create ID it saw; a refused
// takeover writes nothing.
func TestBeginTakesOverOnlyTheIntentSeen(t *testing.T) {
	d, dir := openDir(t)
	path := filepath.Join(dir, ".alice.png.age.intent")
	in := func(id string) Intent {
		return Intent{Device: "alice", Path: "/", Account: "111111111111", Action: "create", CreateID: id}
	}
	if _, err := Begin(d, "alice.png.age", in("new"), Seen{Present: true, CreateID: "old"}); !errors.Is(err, ErrChanged) {
		t.Fatalf("Begin expecting an intent that is gone: %v, want ErrChanged", err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("a refused Begin left a file: %v", err)
	}
	l, err := Begin(d, "alice.png.age", in("old"), Seen{})
	if err != nil {
		t.Fatal(err)
	}
	l.Keep()
	before, _ := os.ReadFile(path)
	for _, seen := range []Seen{{}, {Present: true, CreateID: "other"}, {Present: true}} {
		if _, err := Begin(d, "alice.png.age", in("new"), seen); !errors.Is(err, ErrChanged) {
			t.Errorf("Begin over intent old expecting %+v: %v, want ErrChanged", seen, err)
		}
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Fatalf("a refused Begin changed the intent:\n%s\nwas\n%s", after, before)
	}
	l, err = Begin(d, "alice.png.age", in("new"), Seen{Present: true, CreateID: "old"})
	if err != nil {
		t.Fatalf("Begin over the intent the plan saw: %v", err)
	}
	l.Keep()
	// An empty file (a run killed between creating and writing it) is no
	// intent: a plan that saw none takes it over, one that saw one does not.
	os.WriteFile(path, nil, 0o600)
	if _, err := Begin(d, "alice.png.age", in("x"), Seen{Present: true, CreateID: "new"}); !errors.Is(err, ErrChanged) {
		t.Errorf("Begin over an empty intent expecting one: %v, want ErrChanged", err)
	}
	if l, err = Begin(d, "alice.png.age", in("x"), Seen{}); err != nil {
		t.Fatalf("Begin over an empty intent expecting none: %v", err)
	}
	l.Done()
}

// Review finding 3: a create ID is public (a device tag); a record proves
// the outfile beside it holds that device's secret only with the create
// ID's proof and bound to the outfile's bytes.
func TestRecordProves(t *testing.T) {
	d, dir := openDir(t)
	id, proof := NewCreateID()
	if !Proves(proof, id) || Proves(id, id) || Proves("", "") || len(id) != 32 {
		t.Fatalf("create ID %q and proof do not match as they should", id)
	}
	os.WriteFile(filepath.Join(dir, "a.age"), []byte("ciphertext"), 0o600)
	sum, err := OutfileSHA256(d, "a.age")
	if err != nil || sum == "" {
		t.Fatal(sum, err)
	}
	for _, tc := range []struct {
		name string
		rec  Record
		want bool
	}{
		{"proof, bound", Record{CreateID: id, Proof: proof, OutfileSHA256: sum}, true},
		{"an older mfabulk's", Record{CreateID: id}, false},
		{"made from the tag", Record{CreateID: id, Proof: id, OutfileSHA256: sum}, false},
		{"beside another outfile", Record{CreateID: id, Proof: proof, OutfileSHA256: strings.Repeat("0", 64)}, false},
		{"not bound", Record{CreateID: id, Proof: proof}, false},
	} {
		if got, err := tc.rec.Proves(d, "a.age"); got != tc.want || err != nil {
			t.Errorf("%s: Proves = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	rec := Record{CreateID: id, Proof: proof, OutfileSHA256: sum}
	os.WriteFile(filepath.Join(dir, "a.age"), []byte("another ciphertext"), 0o600)
	if got, _ := rec.Proves(d, "a.age"); got {
		t.Error("a record proves an outfile whose bytes changed")
	}
}
