package s3store

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mfabulk/mfabulk/internal/store"
)

// A re-seal puts the new outfile If-Match the ETag read with the old
// bytes: never over an object written since, which is left as it is; the
// new object is stamped for the intent, as a new outfile is, and no aside
// copy is made (the bucket's versioning keeps the old version).
func TestReplaceOutfile(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	b := open(t, bucket, Options{})
	t.Cleanup(func() { b.Close() })
	d := device(bucket, "alice")
	_, key, _ := ParseURL(d.Outfile)
	h, err := filesOf(t, b, d).Begin(ctx, intentOf(d), store.Seen{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Done(ctx)
	if _, err := h.ReplaceOutfile(ctx, []byte("new"), sha256Hex([]byte("old"))); !errors.Is(err, store.ErrChanged) {
		t.Fatalf("ReplaceOutfile of no object = %v, want store.ErrChanged", err)
	}
	if _, err := h.WriteOutfile(ctx, []byte("old")); err != nil {
		t.Fatal(err)
	}
	if got, err := h.ReadOutfile(ctx); err != nil || string(got) != "old" {
		t.Fatalf("ReadOutfile = %q, %v", got, err)
	}
	// Another principal wrote the object since it was read.
	raw(t, bucket, key, []byte("theirs"))
	if _, err := h.ReplaceOutfile(ctx, []byte("new"), sha256Hex([]byte("old"))); !errors.Is(err, store.ErrChanged) {
		t.Fatalf("ReplaceOutfile over another principal's write = %v, want store.ErrChanged", err)
	}
	if got, _ := rawGet(t, bucket, key); string(got) != "theirs" {
		t.Fatalf("a refused ReplaceOutfile left %q", got)
	}
	if _, err := h.ReadOutfile(ctx); err == nil {
		t.Fatal("ReadOutfile read an object not written under the intent")
	}
	// A fresh start: the run's own outfile again.
	if _, err := client(t, "us-east-1").DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.WriteOutfile(ctx, []byte("old")); err != nil {
		t.Fatal(err)
	}
	s, err := h.ReplaceOutfile(ctx, []byte("new"), sha256Hex([]byte("old")))
	if err != nil || s != sha256Hex([]byte("new")) {
		t.Fatalf("ReplaceOutfile = %q, %v", s, err)
	}
	if got, _ := rawGet(t, bucket, key); string(got) != "new" {
		t.Fatalf("the outfile holds %q, want the new bytes", got)
	}
	if sum, err := h.OutfileSHA256(ctx); err != nil || sum != sha256Hex([]byte("new")) {
		t.Fatalf("OutfileSHA256 of the re-sealed object = %q, %v: it must be stamped for the intent", sum, err)
	}
	out, err := client(t, "us-east-1").ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out.Contents {
		if k := aws.ToString(o.Key); k != key && k != "mfa/out/.alice.png.age.intent" {
			t.Errorf("the bucket holds %s: a re-seal leaves no copy of the old ciphertext", k)
		}
	}
}
