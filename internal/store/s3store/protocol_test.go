package s3store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/store"
)

// write runs one device's protocol: intent, outfile, record, Done.
func write(t *testing.T, b *Backend, d manifest.Device, ct []byte, seen store.Seen, stamp string) (journal.Intent, string) {
	t.Helper()
	ctx := context.Background()
	in := intentOf(d)
	h, err := filesOf(t, b, d).Begin(ctx, in, seen)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	aside := ""
	if stamp != "" {
		if aside, err = h.MoveAside(ctx, stamp); err != nil {
			t.Fatalf("MoveAside: %v", err)
		}
	}
	sum, err := h.WriteOutfile(ctx, ct)
	if err != nil {
		t.Fatalf("WriteOutfile: %v", err)
	}
	if got, err := h.OutfileSHA256(ctx); got != sum || err != nil {
		t.Fatalf("OutfileSHA256 = %q, %v; WriteOutfile said %q", got, err, sum)
	}
	rec := journal.Record{Account: account, Device: d.Name, Path: d.Path, Serial: "arn:aws:iam::" + account + ":mfa/" + d.Name, CreateID: in.CreateID, Proof: in.Proof, Created: time.Now().UTC(), OutfileSHA256: sum}
	if err := h.WriteRecord(ctx, rec); err != nil {
		t.Fatalf("WriteRecord: %v", err)
	}
	if err := h.Done(ctx); err != nil {
		t.Fatalf("Done: %v", err)
	}
	return in, aside
}

func TestProtocolRoundTrip(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	b := open(t, bucket, Options{})
	alice, bob := device(bucket, "alice"), device(bucket, "bob")
	devices := []manifest.Device{alice, bob}
	if p := b.Check(ctx, devices, true); len(p) != 0 {
		t.Fatalf("Check: %v", p)
	}
	if got := b.Describe(); got != "s3://"+bucket+"/mfa/ (versioned, SSE-S3)" && got != "s3://"+bucket+"/mfa/ (versioned, no default encryption)" {
		t.Errorf("Describe = %q", got)
	}
	f := filesOf(t, b, alice)
	if f.Where() != alice.Outfile {
		t.Errorf("Where = %q, want %q", f.Where(), alice.Outfile)
	}

	// While the intent is held, a plan sees it busy.
	in := intentOf(alice)
	h, err := f.Begin(ctx, in, store.Seen{})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := b.Read(ctx, account, devices)
	if err != nil {
		t.Fatal(err)
	}
	if ev["alice"].Intent.State != journal.Busy || ev["alice"].IntentVersion == "" || ev["bob"].Intent.State != journal.None {
		t.Fatalf("Read while held = %+v", ev)
	}
	if err := h.Keep(ctx); err != nil {
		t.Fatal(err)
	}
	ev, _ = b.Read(ctx, account, devices)
	if st := ev["alice"].Intent; st.State != journal.Pending || st.Intent.CreateID != in.CreateID {
		t.Fatalf("Read after Keep = %+v", st)
	}

	in, _ = write(t, b, alice, []byte("alice v1"), store.Seen{Present: true, CreateID: in.CreateID, Version: ev["alice"].IntentVersion}, "")
	ev, err = b.Read(ctx, account, devices)
	if err != nil {
		t.Fatal(err)
	}
	a := ev["alice"]
	if !a.Outfile || a.Record == nil || !a.Proven || a.Intent.State != journal.None || a.Record.CreateID != in.CreateID {
		t.Fatalf("Read after apply = %+v", a)
	}
	if ev["bob"].Outfile || ev["bob"].Record != nil {
		t.Fatalf("bob = %+v", ev["bob"])
	}
	owned, err := b.Owned(ctx, account, devices)
	if err != nil {
		t.Fatal(err)
	}
	if len(owned) != 1 || owned["arn:aws:iam::"+account+":mfa/alice"] == nil || owned["arn:aws:iam::"+account+":mfa/alice"].Where() != alice.Outfile {
		t.Fatalf("Owned = %v", owned)
	}
	if owned, _ := b.Owned(ctx, "210987654321", devices); len(owned) != 0 {
		t.Fatalf("Owned of another account = %v", owned)
	}

	// Replace: the old outfile goes aside, never over an earlier one.
	_, aside := write(t, b, alice, []byte("alice v2"), store.Seen{}, "T1")
	if aside != "s3://"+bucket+"/mfa/out/alice.png.age.replaced-T1" {
		t.Fatalf("aside = %q", aside)
	}
	if data, _ := rawGet(t, bucket, "mfa/out/alice.png.age.replaced-T1"); string(data) != "alice v1" {
		t.Fatalf("aside holds %q", data)
	}
	_, aside = write(t, b, alice, []byte("alice v3"), store.Seen{}, "T1")
	if !strings.HasSuffix(aside, ".replaced-T1-2") {
		t.Fatalf("second aside = %q", aside)
	}
	if data, _ := rawGet(t, bucket, "mfa/out/alice.png.age"); string(data) != "alice v3" {
		t.Fatalf("outfile holds %q", data)
	}
	ev, _ = b.Read(ctx, account, devices)
	if !ev["alice"].Proven {
		t.Fatalf("replaced outfile's record does not prove it: %+v", ev["alice"])
	}

	// Files.MoveAside, as prune uses it.
	where, err := f.MoveAside(ctx, "T2")
	if err != nil || !strings.HasSuffix(where, ".replaced-T2") {
		t.Fatalf("MoveAside = %q, %v", where, err)
	}
	if ok, err := f.Exists(ctx); ok || err != nil {
		t.Fatalf("Exists after MoveAside = %v, %v", ok, err)
	}
	if _, err := f.MoveAside(ctx, "T3"); err == nil {
		t.Fatal("MoveAside of no outfile succeeded")
	}
}

func TestWriteOutfileNeverOverwrites(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	b := open(t, bucket, Options{})
	d := device(bucket, "carol")
	h, err := filesOf(t, b, d).Begin(ctx, intentOf(d), store.Seen{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Done(ctx)
	if _, err := h.WriteOutfile(ctx, []byte("first")); err != nil {
		t.Fatal(err)
	}
	_, err = h.WriteOutfile(ctx, []byte("second"))
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("second WriteOutfile = %v, want ErrExists", err)
	}
	if data, _ := rawGet(t, bucket, "mfa/out/carol.png.age"); string(data) != "first" {
		t.Fatalf("outfile holds %q", data)
	}
	// The same bytes again are this run's own write (a retried PUT whose
	// answer was lost), not someone else's outfile.
	if _, err := h.WriteOutfile(ctx, []byte("first")); err != nil {
		t.Fatalf("WriteOutfile of the same bytes = %v", err)
	}
}

func TestWriteRecordReplacesOnlyARecord(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	b := open(t, bucket, Options{})
	d := device(bucket, "dave")
	raw(t, bucket, "mfa/out/.dave.png.age.id", []byte("not a record"))
	h, err := filesOf(t, b, d).Begin(ctx, intentOf(d), store.Seen{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Keep(ctx)
	err = h.WriteRecord(ctx, journal.Record{Account: account, Device: "dave", Path: "/", CreateID: "x"})
	mustContain(t, err, "not a record of mfabulk's")
	if data, _ := rawGet(t, bucket, "mfa/out/.dave.png.age.id"); string(data) != "not a record" {
		t.Fatalf("record key holds %q", data)
	}
}
