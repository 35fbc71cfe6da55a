package s3store

import (
	"context"
	"testing"
	"time"

	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/manifest"
)

// Prune moves aside the outfile Owned finds for a serial: a record
// planted by another principal (no proof, or not bound to the outfile
// beside it) must never point it at a live device's outfile.
func TestOwnedTrustsOnlyProvenRecords(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	b := open(t, bucket, Options{})
	var devices []manifest.Device
	for _, n := range []string{"gone", "carol", "dave", "zed"} {
		devices = append(devices, device(bucket, n))
	}
	key := func(n string) string { return "mfa/out/" + n + ".png.age" }
	recKey := func(n string) string { return "mfa/out/." + n + ".png.age.id" }
	serial := "arn:aws:iam::" + account + ":mfa/gone"
	rec := func(n string, ct []byte) journal.Record {
		id, proof := journal.NewCreateID()
		return journal.Record{Account: account, Device: n, Path: "/", Serial: serial, CreateID: id, Proof: proof, Created: time.Now().UTC(), OutfileSHA256: sha256Hex(ct)}
	}
	for _, n := range []string{"gone", "carol", "dave", "zed"} {
		raw(t, bucket, key(n), []byte("ct "+n))
	}
	// The pruned device's own, proven record.
	raw(t, bucket, recKey("gone"), recordJSON(t, rec("gone", []byte("ct gone"))))
	// Planted: a record without proof naming the pruned serial beside
	// carol's outfile, one with a proof bound to other bytes beside
	// dave's, and one without proof that sorts after the true one.
	r := rec("carol", []byte("ct carol"))
	r.Proof = ""
	raw(t, bucket, recKey("carol"), recordJSON(t, r))
	raw(t, bucket, recKey("dave"), recordJSON(t, rec("dave", []byte("other bytes"))))
	r = rec("zed", []byte("ct zed"))
	r.Proof = ""
	raw(t, bucket, recKey("zed"), recordJSON(t, r))

	owned, err := b.Owned(ctx, account, devices)
	if err != nil {
		t.Fatal(err)
	}
	if f := owned[serial]; f == nil || f.Where() != devices[0].Outfile {
		where := "nothing"
		if f != nil {
			where = f.Where()
		}
		t.Fatalf("Owned[%s] = %s, want %s: a planted record decides which outfile prune moves aside", serial, where, devices[0].Outfile)
	}
	// With the true record gone, no planted one stands in for it.
	r = rec("gone", []byte("ct gone"))
	r.Serial = "arn:aws:iam::" + account + ":mfa/other"
	raw(t, bucket, recKey("gone"), recordJSON(t, r))
	if owned, err = b.Owned(ctx, account, devices); err != nil {
		t.Fatal(err)
	}
	if f := owned[serial]; f != nil {
		t.Fatalf("Owned[%s] = %s, from a record without proof or bound to other bytes", serial, f.Where())
	}
}
