package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/store/s3store/s3test"
)

// testLease is the intent lease the store scenarios' runs take
// (MFABULK_S3_LEASE): short, so that a killed run's intents can be taken
// over seconds after the kill instead of minutes.
const testLease = 5 * time.Second

// motoS3 is one moto_server that serves the S3 stores of a test and its
// subtests, one bucket each (moto takes seconds to start on a loaded
// machine), behind a proxy that passes it one request at a time. IAM stays the in-process iamlocal, with its fault injection
// and its audit of who deleted whose device.
type motoS3 struct {
	url     string
	client  *s3.Client
	buckets atomic.Int32
}

func startMotoS3(t *testing.T) *motoS3 {
	t.Helper()
	// moto checks a conditional write, then stores it, in a threaded
	// server: concurrent runs go through s3test.Serial, as S3 is atomic.
	url, stop, err := s3test.Serial(startMoto(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	client := s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	return &motoS3{url: url, client: client}
}

// newStoreScenario is newScenario with the devices' files in an S3 store:
// a versioned bucket of its own moto_server, named in the manifest as
// `store: s3://BUCKET/p/`.
func newStoreScenario(t *testing.T, opts iamlocal.Options, n int) *scenario {
	t.Helper()
	return startMotoS3(t).scenario(t, opts, n)
}

// scenario is newStoreScenario on m, in a new bucket.
func (m *motoS3) scenario(t *testing.T, opts iamlocal.Options, n int) *scenario {
	t.Helper()
	s := newScenario(t, opts, n)
	s.store = m.bucket(t, fmt.Sprintf("mfabulk-store-%03d", m.buckets.Add(1)), "p/")
	t.Setenv("AWS_ENDPOINT_URL_S3", m.url)
	t.Setenv("MFABULK_S3_LEASE", testLease.String())
	manifest := strings.Replace(string(mustRead(t, "m.yaml")), "version: 1\n", "version: 1\nstore: s3://"+s.store.name+"/"+s.store.prefix+"\n", 1)
	writeFile(t, "m.yaml", manifest, 0o644)
	return s
}

// bucket is a scenario's store: a bucket and prefix on moto_server, read
// by the test with the SDK.
type bucket struct {
	client *s3.Client
	name   string
	prefix string
}

// bucket creates a bucket as mfabulk wants one: versioning enabled (it
// refuses a bucket without), public access blocked (it warns).
func (m *motoS3) bucket(t *testing.T, name, prefix string) *bucket {
	t.Helper()
	ctx := context.Background()
	if _, err := m.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	if _, err := m.client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(name),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
	}); err != nil {
		t.Fatalf("enable versioning on %s: %v", name, err)
	}
	block := true
	if _, err := m.client.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{
		Bucket: aws.String(name),
		PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
			BlockPublicAcls: &block, IgnorePublicAcls: &block, BlockPublicPolicy: &block, RestrictPublicBuckets: &block,
		},
	}); err != nil {
		t.Fatalf("block public access to %s: %v", name, err)
	}
	return &bucket{client: m.client, name: name, prefix: prefix}
}

// key is the object key of a path relative to the manifest's folder
// (out/d000.png.age), as the store renders the outfile template.
func (b *bucket) key(rel string) string {
	return b.prefix + path.Clean(strings.ReplaceAll(rel, string(os.PathSeparator), "/"))
}

// get reads the current version of an object, and whether there is one.
func (b *bucket) get(t testing.TB, key string) ([]byte, bool) {
	t.Helper()
	return b.getVersion(t, key, "")
}

func (b *bucket) getVersion(t testing.TB, key, version string) ([]byte, bool) {
	t.Helper()
	in := &s3.GetObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)}
	if version != "" {
		in.VersionId = aws.String(version)
	}
	out, err := b.client.GetObject(context.Background(), in)
	var nsk *s3types.NoSuchKey
	if errors.As(err, &nsk) {
		return nil, false
	}
	if err != nil {
		t.Fatalf("get s3://%s/%s (version %q): %v", b.name, key, version, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("read s3://%s/%s: %v", b.name, key, err)
	}
	return data, true
}

// keys lists the current objects under the store's prefix, keys only.
func (b *bucket) keys(t testing.TB) []string {
	t.Helper()
	var out []string
	p := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{Bucket: aws.String(b.name), Prefix: aws.String(b.prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list s3://%s/%s: %v", b.name, b.prefix, err)
		}
		for _, o := range page.Contents {
			out = append(out, aws.ToString(o.Key))
		}
	}
	return out
}

// asides is the moved-aside copies of the outfile at key, by s3:// URL.
func (b *bucket) asides(t testing.TB, key string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, k := range b.keys(t) {
		if strings.HasPrefix(k, key+".replaced-") {
			data, _ := b.get(t, k)
			out["s3://"+b.name+"/"+k] = data
		}
	}
	return out
}

// intents lists the intent objects left in the store.
func (b *bucket) intents(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, k := range b.keys(t) {
		if strings.HasSuffix(k, ".intent") {
			out = append(out, k)
		}
	}
	return out
}

// scanVersions hands every version of every object in the bucket (the
// whole bucket, not only the prefix: a secret must not be anywhere) to
// scan, and returns how many it read. Delete markers have no bytes.
func (b *bucket) scanVersions(t testing.TB, scan func(where string, data []byte)) int {
	t.Helper()
	n := 0
	p := s3.NewListObjectVersionsPaginator(b.client, &s3.ListObjectVersionsInput{Bucket: aws.String(b.name)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list the object versions of s3://%s: %v", b.name, err)
		}
		for _, v := range page.Versions {
			key, id := aws.ToString(v.Key), aws.ToString(v.VersionId)
			data, ok := b.getVersion(t, key, id)
			if !ok {
				t.Errorf("leak scan: s3://%s/%s version %s is listed but cannot be read", b.name, key, id)
				continue
			}
			n++
			scan(fmt.Sprintf("s3://%s/%s (version %s)", b.name, key, id), data)
		}
	}
	return n
}

// checkSettled asserts that no intent is left once apply converged, in
// the folder or the store.
func (s *scenario) checkSettled() {
	s.t.Helper()
	if s.store == nil {
		checkSettled(s.t)
		return
	}
	if left := s.store.intents(s.t); len(left) > 0 {
		s.t.Errorf("intents left in the store after convergence: %q", left)
	}
}

// afterKill waits, in a store scenario, until the leases of the intents a
// killed run held have expired, so that the next plan may take them over
// (a folder's flock ends with the process).
func (s *scenario) afterKill() {
	if s.store != nil {
		time.Sleep(testLease + testLease/4)
	}
}

// outfileObjects is every current outfile object in the store (not moved
// aside, not a record or intent), by key.
func (b *bucket) outfileObjects(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, k := range b.keys(t) {
		base := path.Base(k)
		if strings.HasPrefix(base, ".") || !strings.HasSuffix(base, ".age") {
			continue
		}
		if data, ok := b.get(t, k); ok {
			out[k] = data
		}
	}
	return out
}

// TestStoreHarness checks the harness itself against moto_server: the
// manifest names the store, every version of an object is scanned (an old
// one a later one hides included), and moto refuses an overwrite with
// If-None-Match: *, as mfabulk's outfiles rely on.
func TestStoreHarness(t *testing.T) {
	s := newStoreScenario(t, iamlocal.Options{}, 0)
	if !bytes.Contains(mustRead(t, "m.yaml"), []byte("store: s3://"+s.store.name+"/p/\n")) {
		t.Fatalf("manifest names no store:\n%s", mustRead(t, "m.yaml"))
	}
	ctx := context.Background()
	for _, body := range []string{"first", "second"} {
		if _, err := s.store.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.store.name), Key: aws.String("p/x"), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	if b, ok := s.store.get(t, "p/x"); !ok || string(b) != "second" {
		t.Errorf("get p/x = %q, %v", b, ok)
	}
	var seen []string
	if n := s.store.scanVersions(t, func(_ string, data []byte) { seen = append(seen, string(data)) }); n != 2 {
		t.Errorf("scanned %d versions, want 2: %q", n, seen)
	}
	if _, err := s.store.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.store.name), Key: aws.String("p/x"), Body: strings.NewReader("third"), IfNoneMatch: aws.String("*")}); err == nil {
		t.Errorf("moto_server overwrote an object despite If-None-Match: *")
	}
}
