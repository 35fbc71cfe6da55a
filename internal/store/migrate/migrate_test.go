package migrate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mfabulk/mfabulk/internal/atomicfile"
	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/store"
)

// bucket is a fake store: objects by URL, written only where none is.
type bucket struct {
	objects  map[string][]byte
	records  map[string]*journal.Record
	problems []store.Problem
	checked  int
}

func (b *bucket) Check(context.Context, []manifest.Device, bool) []store.Problem {
	b.checked++
	return b.problems
}

func (b *bucket) Import(_ context.Context, outfile string, ct []byte, rec *journal.Record) (bool, error) {
	if old, ok := b.objects[outfile]; ok {
		if string(old) != string(ct) {
			return false, errors.New("another object is already there")
		}
		return false, nil
	}
	b.objects[outfile], b.records[outfile] = ct, rec
	return true, nil
}

var st = manifest.Store{URL: "s3://b/p/", Bucket: "b", Prefix: "p/"}

func deviceIn(folder, name string) manifest.Device {
	return manifest.Device{Name: name, Path: "/", Outfile: st.URL + "out/" + name + ".png.age", Store: st, Pos: manifest.Pos{File: filepath.Join(folder, "m.yaml")}}
}

// applied writes an outfile and its record as apply does.
func applied(t *testing.T, folder, name string) {
	t.Helper()
	dir, err := atomicfile.OpenDir(folder, "out", true)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	out := name + ".png.age"
	if err := dir.WriteNew(out, []byte("ciphertext of "+name)); err != nil {
		t.Fatal(err)
	}
	id, proof := journal.NewCreateID()
	sum, _ := journal.OutfileSHA256(dir, out)
	if err := journal.WriteRecord(dir, out, journal.Record{Account: "123456789012", Device: name, Path: "/", Serial: "arn:aws:iam::123456789012:mfa/" + name, CreateID: id, Proof: proof, OutfileSHA256: sum}); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, b *bucket, devices ...manifest.Device) map[string]Result {
	t.Helper()
	rep, err := Run(context.Background(), devices, Options{Open: func(context.Context, manifest.Store) (Target, error) { return b, nil }})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Result{}
	for _, r := range rep.Results {
		out[r.Device] = r
	}
	return out
}

func TestImport(t *testing.T) {
	folder := t.TempDir()
	for _, n := range []string{"alice", "bob", "carol", "dave", "erin", "frank"} {
		if n != "dave" {
			applied(t, folder, n)
		}
	}
	out := filepath.Join(folder, "out")
	// bob's outfile is a link to alice's: never read through.
	os.Remove(filepath.Join(out, "bob.png.age"))
	os.Symlink(filepath.Join(out, "alice.png.age"), filepath.Join(out, "bob.png.age"))
	// carol's record is not one to trust: nothing of hers is copied.
	os.WriteFile(filepath.Join(out, journal.RecordName("carol.png.age")), []byte("{not json"), 0o600)
	// erin's device has an interrupted run's intent.
	os.WriteFile(filepath.Join(out, journal.Name("erin.png.age")), []byte("{}"), 0o600)
	// frank's outfile was moved aside by a replace: it stays behind.
	os.Rename(filepath.Join(out, "frank.png.age"), filepath.Join(out, "frank.png.age.replaced-20260101T000000Z"))
	// A device of a manifest without store: is not imported.
	folderDevice := manifest.Device{Name: "gina", Outfile: filepath.Join(out, "gina.png.age"), Pos: manifest.Pos{File: filepath.Join(folder, "m.yaml")}}

	b := &bucket{objects: map[string][]byte{}, records: map[string]*journal.Record{}}
	devs := []manifest.Device{deviceIn(folder, "alice"), deviceIn(folder, "bob"), deviceIn(folder, "carol"), deviceIn(folder, "dave"), deviceIn(folder, "erin"), deviceIn(folder, "frank"), folderDevice}
	got := run(t, b, devs...)
	if len(got) != 6 || b.checked != 1 {
		t.Fatalf("results %v, checked %d times", got, b.checked)
	}
	want := map[string]struct {
		o   Outcome
		err string
	}{
		"alice": {Copied, ""},
		"bob":   {Failed, "is a symbolic link"},
		"carol": {Failed, "is not one mfabulk can trust"},
		"dave":  {NoOutfile, ""},
		"erin":  {Failed, "an interrupted run left an intent"},
		"frank": {NoOutfile, ""},
	}
	for name, w := range want {
		r := got[name]
		if r.Outcome != w.o || (w.err == "") != (r.Err == nil) || r.Err != nil && !strings.Contains(r.Err.Error(), w.err) {
			t.Errorf("%s: %v, %v; want %v, %q", name, r.Outcome, r.Err, w.o, w.err)
		}
	}
	// A folder on the way that is a link (out of the manifest's folder,
	// maybe) is never followed: an error, not "no outfile".
	os.Symlink(out, filepath.Join(folder, "linked"))
	viaLink := deviceIn(folder, "alice")
	viaLink.Name, viaLink.Outfile = "linked", st.URL+"linked/alice.png.age"
	if r := run(t, b, viaLink)["linked"]; r.Outcome != Failed || r.Err == nil {
		t.Errorf("through a linked folder: %+v, want failed", r)
	}
	a := st.URL + "out/alice.png.age"
	if string(b.objects[a]) != "ciphertext of alice" || b.records[a] == nil || b.records[a].Device != "alice" || len(b.objects) != 1 {
		t.Fatalf("store holds %v", b.objects)
	}
	if got := run(t, b, deviceIn(folder, "alice")); got["alice"].Outcome != AlreadyThere {
		t.Errorf("again: %+v, want already there", got["alice"])
	}

	// A problem of the store stops everything before any copy.
	b2 := &bucket{objects: map[string][]byte{}, records: map[string]*journal.Record{}, problems: []store.Problem{{Device: "alice", Err: errors.New("versioning is off")}}}
	if _, err := Run(context.Background(), devs, Options{Open: func(context.Context, manifest.Store) (Target, error) { return b2, nil }}); err == nil || len(b2.objects) != 0 {
		t.Errorf("Run on a refused store = %v, copied %d", err, len(b2.objects))
	}
	if _, err := Run(context.Background(), []manifest.Device{folderDevice}, Options{}); !errors.Is(err, ErrNoStore) {
		t.Errorf("Run without a store = %v", err)
	}
}
