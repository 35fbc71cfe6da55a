package folder

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/store"
)

// testDevice is a device of a manifest in a new folder, whose outfile is
// out/NAME.age beside it.
func testDevice(t *testing.T, base, name string) manifest.Device {
	t.Helper()
	return manifest.Device{Name: name, Path: "/", Outfile: filepath.Join(base, "out", name+".age"),
		Pos: manifest.Pos{File: filepath.Join(base, "m.yaml")}}
}

func intent(d manifest.Device, createID, proof string) journal.Intent {
	return journal.Intent{Device: d.Name, Path: d.Path, Account: "111122223333", Outfile: d.Outfile,
		Action: "create", CreateID: createID, Proof: proof, Started: time.Now().UTC(), PID: os.Getpid()}
}

func TestFilesProtocolRoundTrip(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	d := testDevice(t, base, "alice")
	b := New()
	t.Cleanup(func() { b.Close() })

	if ps := b.Check(ctx, []manifest.Device{d}, true); len(ps) != 0 {
		t.Fatalf("Check(write) = %v, want no problems", ps)
	}
	if _, err := os.Stat(filepath.Join(base, "out")); err != nil {
		t.Fatalf("Check(write) did not make the outfile folder: %v", err)
	}
	f, err := b.Files(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if f.Where() != d.Outfile {
		t.Errorf("Where() = %q, want %q", f.Where(), d.Outfile)
	}
	createID, proof := journal.NewCreateID()
	held, err := f.Begin(ctx, intent(d, createID, proof), store.Seen{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(base, "out", ".alice.age.intent")); err != nil {
		t.Fatalf("Begin left no intent: %v", err)
	}
	sum, err := held.WriteOutfile(ctx, []byte("ciphertext"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := held.WriteOutfile(ctx, []byte("other")); !errors.Is(err, store.ErrExists) {
		t.Fatalf("a second WriteOutfile = %v, want store.ErrExists", err)
	}
	if now, err := held.OutfileSHA256(ctx); err != nil || now != sum {
		t.Fatalf("OutfileSHA256 = %q, %v; want WriteOutfile's %q", now, err, sum)
	}
	rec := journal.Record{Account: "111122223333", Device: d.Name, Path: d.Path, Serial: "arn:aws:iam::111122223333:mfa/alice",
		CreateID: createID, Proof: proof, OutfileSHA256: sum, Created: time.Now().UTC()}
	if err := held.WriteRecord(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := held.Done(ctx); err != nil {
		t.Fatal(err)
	}
	names := dirNames(t, filepath.Join(base, "out"))
	if want := []string{".alice.age.id", "alice.age"}; !slices.Equal(names, want) {
		t.Errorf("the folder holds %v, want %v", names, want)
	}
	if data, _ := os.ReadFile(d.Outfile); string(data) != "ciphertext" {
		t.Errorf("the outfile holds %q, want the first write's bytes", data)
	}

	ev, err := New().Read(ctx, "111122223333", []manifest.Device{d})
	if err != nil {
		t.Fatal(err)
	}
	got := ev[d.Name]
	if !got.Outfile || got.Record == nil || got.Record.CreateID != createID || !got.Proven || got.Intent.State != journal.None {
		t.Errorf("Read = %+v, want the outfile, its proven record and no intent", got)
	}
}

func TestReadSeesAKeptIntentAndLeavesOutMissingFolders(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	d, gone := testDevice(t, base, "bob"), testDevice(t, base, "carol")
	gone.Outfile = filepath.Join(base, "elsewhere", "carol.age")
	b := New()
	t.Cleanup(func() { b.Close() })
	f, err := b.Files(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	createID, proof := journal.NewCreateID()
	held, err := f.Begin(ctx, intent(d, createID, proof), store.Seen{})
	if err != nil {
		t.Fatal(err)
	}
	if err := held.Keep(ctx); err != nil {
		t.Fatal(err)
	}
	ev, err := b.Read(ctx, "111122223333", []manifest.Device{d, gone})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ev[gone.Name]; ok {
		t.Errorf("Read has evidence of a device whose folder does not exist")
	}
	got := ev[d.Name]
	if got.Outfile || got.Intent.State != journal.Pending || got.Intent.Intent.CreateID != createID || got.IntentVersion != "" {
		t.Errorf("Read = %+v, want the kept intent, pending, without a version", got)
	}
	// Taken over only as the plan saw it.
	if _, err := f.Begin(ctx, intent(d, "x", ""), store.Seen{}); !errors.Is(err, store.ErrChanged) {
		t.Errorf("Begin over an intent the plan did not see = %v, want store.ErrChanged", err)
	}
	if held, err := f.Begin(ctx, intent(d, createID, proof), store.Seen{Present: true, CreateID: createID}); err != nil {
		t.Errorf("Begin over the intent the plan saw: %v", err)
	} else if err := held.Done(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestBeginRemovesAKilledRunsTemporaryFiles(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	d := testDevice(t, base, "dave")
	if err := os.Mkdir(filepath.Join(base, "out"), 0o700); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(base, "out", ".dave.age.tmp-0123456789")
	if err := os.WriteFile(stale, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := New()
	t.Cleanup(func() { b.Close() })
	f, err := b.Files(ctx, d) // the folder's one listing
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); err != nil {
		t.Fatalf("Files removed the temporary file without holding the intent: %v", err)
	}
	held, err := f.Begin(ctx, intent(d, "id", ""), store.Seen{})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Keep(ctx)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Begin left the killed run's temporary file: %v", err)
	}
}

func TestMoveAsideAndOwned(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	d := testDevice(t, base, "erin")
	b := New()
	t.Cleanup(func() { b.Close() })
	f, err := b.Files(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	createID, proof := journal.NewCreateID()
	held, err := f.Begin(ctx, intent(d, createID, proof), store.Seen{})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := held.WriteOutfile(ctx, []byte("ct"))
	if err != nil {
		t.Fatal(err)
	}
	serial := "arn:aws:iam::111122223333:mfa/erin"
	if err := held.WriteRecord(ctx, journal.Record{Account: "111122223333", Device: d.Name, Path: d.Path, Serial: serial,
		CreateID: createID, Proof: proof, OutfileSHA256: sum}); err != nil {
		t.Fatal(err)
	}
	if err := held.Done(ctx); err != nil {
		t.Fatal(err)
	}

	owned, err := b.Owned(ctx, "111122223333", []manifest.Device{d})
	if err != nil {
		t.Fatal(err)
	}
	if len(owned) != 1 || owned[serial] == nil || owned[serial].Where() != d.Outfile {
		t.Fatalf("Owned = %v, want the outfile of %s", owned, serial)
	}
	if other, err := b.Owned(ctx, "444455556666", []manifest.Device{d}); err != nil || len(other) != 0 {
		t.Errorf("Owned for another account = %v, %v; want none", other, err)
	}
	aside, err := owned[serial].MoveAside(ctx, "20260102T030405Z")
	if want := filepath.Join(base, "out", "erin.age.replaced-20260102T030405Z"); err != nil || aside != want {
		t.Fatalf("MoveAside = %q, %v; want %q", aside, err, want)
	}
	if ok, err := f.Exists(ctx); err != nil || ok {
		t.Errorf("Exists after MoveAside = %t, %v; want false", ok, err)
	}
}

func TestCheckWithoutWriteChangesNothing(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	d := testDevice(t, base, "frank")
	b := New()
	t.Cleanup(func() { b.Close() })
	if ps := b.Check(ctx, []manifest.Device{d}, false); len(ps) != 0 {
		t.Fatalf("Check of a folder apply will make = %v, want no problems", ps)
	}
	if _, err := os.Stat(filepath.Join(base, "out")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Check without write made the folder: %v", err)
	}
	if runtime.GOOS == "windows" {
		t.Skip("folder permissions are ACLs on Windows")
	}
	if err := os.Mkdir(filepath.Join(base, "out"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(base, "out"), 0o777); err != nil {
		t.Fatal(err)
	}
	g := testDevice(t, base, "grace")
	ps := b.Check(ctx, []manifest.Device{d, g}, false)
	if len(ps) != 1 || ps[0].Device != d.Name || ps[0].Warning {
		t.Fatalf("Check of a folder others can write = %+v, want one problem of its first device", ps)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}
