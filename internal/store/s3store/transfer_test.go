package s3store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/store"
)

// Import never overwrites, is idempotent, and the outfile reads back.
func TestImportAndReadOutfile(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	b := open(t, bucket, Options{})
	d := device(bucket, "alice")
	id, proof := journal.NewCreateID()
	ct := []byte("age ciphertext")
	rec := &journal.Record{Account: account, Device: "alice", Path: "/", Serial: "arn:aws:iam::" + account + ":mfa/alice", CreateID: id, Proof: proof, Created: time.Now().UTC(), OutfileSHA256: sha256Hex(ct)}
	if copied, err := b.Import(ctx, d.Outfile, ct, rec); !copied || err != nil {
		t.Fatalf("Import = %v, %v", copied, err)
	}
	if copied, err := b.Import(ctx, "out/alice.png.age", ct, rec); copied || err != nil {
		t.Fatalf("Import again = %v, %v; want already there", copied, err)
	}
	if _, err := b.Import(ctx, d.Outfile, []byte("other bytes"), rec); err == nil {
		t.Fatal("Import over other bytes succeeded")
	}
	if data, _ := rawGet(t, bucket, "mfa/out/alice.png.age"); string(data) != string(ct) {
		t.Fatalf("outfile holds %q", data)
	}
	ev, err := b.Read(ctx, account, []manifest.Device{d})
	if err != nil || !ev["alice"].Proven {
		t.Fatalf("Read after Import = %+v, %v", ev, err)
	}
	got, r, err := ReadOutfile(ctx, client(t, "us-east-1"), d.Outfile)
	if err != nil || string(got) != string(ct) || r == nil || r.CreateID != id {
		t.Fatalf("ReadOutfile = %q, %+v, %v", got, r, err)
	}
	if _, _, err := ReadOutfile(ctx, client(t, "us-east-1"), "s3://"+bucket+"/mfa/out/nobody.png.age"); err == nil {
		t.Fatal("ReadOutfile of no object succeeded")
	}
	if _, _, err := ReadOutfile(ctx, client(t, "us-east-1"), "/tmp/alice.png.age"); err == nil {
		t.Fatal("ReadOutfile of a path succeeded")
	}
}

// Objects are written with the manifest's KMS key.
func TestWritesUseTheKMSKey(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	o := Options{Client: client(t, "us-east-1"), Store: storeOf(bucket)}
	o.Store.KMSKeyID = "arn:aws:kms:us-east-1:" + account + ":key/0b2c"
	b, err := New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	d := device(bucket, "alice")
	write(t, b, d, []byte("ct"), store.Seen{}, "")
	head, err := client(t, "us-east-1").HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("mfa/out/alice.png.age")})
	if err != nil {
		t.Fatal(err)
	}
	if head.ServerSideEncryption != types.ServerSideEncryptionAwsKms || aws.ToString(head.SSEKMSKeyId) != o.Store.KMSKeyID {
		t.Fatalf("outfile encrypted with %q %q", head.ServerSideEncryption, aws.ToString(head.SSEKMSKeyId))
	}
}

// Runs racing to begin one device: exactly one holds it.
func TestConcurrentBeginOneWins(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	d := device(bucket, "alice")
	const runs = 6
	var wg sync.WaitGroup
	errs := make([]error, runs)
	hs := make([]store.Held, runs)
	for i := range runs {
		b := open(t, bucket, Options{})
		wg.Go(func() { hs[i], errs[i] = filesOf(t, b, d).Begin(ctx, intentOf(d), store.Seen{}) })
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
			defer hs[i].Done(ctx)
		case !errors.Is(err, store.ErrChanged) && !errors.Is(err, store.ErrBusy):
			t.Errorf("run %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d runs hold the intent: %v", won, errs)
	}
}

// Plan reads more than one page of keys.
func TestReadPaginates(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 1,100 objects; skipped with -short")
	}
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	b := open(t, bucket, Options{})
	c := client(t, "us-east-1")
	var devices []manifest.Device
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range 1100 {
		d := device(bucket, fmt.Sprintf("d%04d", i))
		devices = append(devices, d)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_, key, _ := ParseURL(d.Outfile)
			putObject(ctx, c, inRegion(""), bucket, "", key, []byte("ct"), create)
		})
	}
	wg.Wait()
	ev, err := b.Read(ctx, account, devices)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devices {
		if !ev[d.Name].Outfile {
			t.Fatalf("%s: no outfile seen", d.Name)
		}
	}
}

// A person holds s3:GetObject on their outfile and its record, nothing on
// the bucket: HeadBucket denied, ReadOutfile still reads. GetObject
// denied names the permission and both keys; no object is "no outfile".
func TestReadOutfileWithAPersonsPolicy(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	b := open(t, bucket, Options{})
	d := device(bucket, "alice")
	write(t, b, d, []byte("ct"), store.Seen{}, "")
	denyKey := ""
	g := &gate{region: "us-east-1", deny: func(r *http.Request) bool {
		return r.Method == http.MethodHead && r.URL.Path == "/"+bucket || denyKey != "" && r.URL.Path == "/"+bucket+"/"+denyKey
	}}
	c := clientFor(g.start(t), "us-east-1")
	ct, rec, err := ReadOutfile(ctx, c, d.Outfile)
	if err != nil || string(ct) != "ct" || rec == nil {
		t.Fatalf("ReadOutfile without s3:ListBucket = %q, %v, %v", ct, rec, err)
	}
	_, _, err = ReadOutfile(ctx, c, "s3://"+bucket+"/mfa/out/bob.png.age")
	if !errors.Is(err, ErrNoOutfile) {
		t.Errorf("ReadOutfile of no object: %v, want ErrNoOutfile", err)
	}
	mustContain(t, err, "no outfile at s3://"+bucket+"/mfa/out/bob.png.age")
	for _, key := range []string{"mfa/out/alice.png.age", "mfa/out/.alice.png.age.id"} {
		denyKey = key
		_, _, err = ReadOutfile(ctx, c, d.Outfile)
		mustContain(t, err, "access denied", "s3:GetObject on arn:aws:s3:::"+bucket+"/mfa/out/alice.png.age", "arn:aws:s3:::"+bucket+"/mfa/out/.alice.png.age.id")
	}
}

// A prefix another principal flooded with keys is not listed without
// end: past maxListed keys, plan stops with an error that says so.
func TestListIsBounded(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	b := open(t, bucket, Options{})
	defer func(n int) { maxListed = n }(maxListed)
	maxListed = 5
	for i := range 8 {
		raw(t, bucket, fmt.Sprintf("mfa/flood/%d", i), []byte("x"))
	}
	d := device(bucket, "alice")
	_, err := b.Read(ctx, account, []manifest.Device{d})
	mustContain(t, err, "more than 5 keys")
	_, err = b.Owned(ctx, account, []manifest.Device{d})
	mustContain(t, err, "more than 5 keys")
}
