// Package s3store keeps mfabulk's outfiles, records and intents in an S3
// bucket under a prefix: the second implementation of [store.Backend],
// the same protocol of a device's files as the folder's on S3's own
// primitives.
//
// Keys mirror the folder's names under the prefix: the outfile at KEY
// (the manifest's outfile template rendered under the prefix), its record
// at DIR/.NAME.id, its intent at DIR/.NAME.intent, and an outfile moved
// aside at DIR/NAME.replaced-STAMP[-n].
//
// Each of the folder's guarantees holds by a mechanism S3 gives:
//   - never overwrite: every new object is written with If-None-Match: *
//     (S3's 412 is the folder's EEXIST), always with a SHA-256 checksum,
//     which Object Lock buckets require;
//   - intents: created conditionally, and held by a lease the holder
//     renews by compare-and-swap (If-Match on its ETag). Another run takes
//     one over only when its lease has expired and it is still the object
//     the plan saw (its ETag); nothing deletes an intent blind, so no lock
//     stays stale longer than a lease;
//   - move aside: a conditional copy to the aside key, then a delete
//     If-Match the ETag that was copied;
//   - records bound to the outfile's SHA-256 as in the folder.
//
// A lease is a time written by the holder's clock and read by another
// runner's: runners' clocks must agree to well within a lease (two
// minutes by default; NTP keeps them within a second). A lease is never
// believed longer than twice its length (at most MaxLease) after S3's
// Last-Modified of the intent, so a clock far ahead cannot hold a device
// for longer.
//
// S3 requests: a created device costs six (intent GET and PUT, outfile
// PUT, record GET and PUT, intent DELETE) plus a renewal PUT every third
// of a lease; a plan costs one LIST per 1,000 keys, one GET per record
// and intent present, and one GET per proof-bearing record's outfile.
//
// Use [NewClient] for a client, [New] for a store, and [Backend.Check]
// before any IAM call.
package s3store

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mfabulk/mfabulk/internal/atomicfile"
	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/store"
)

// DefaultLease is how long an intent's lease lasts unless renewed; the
// holder renews it every third of it.
const DefaultLease = 2 * time.Minute

// MaxLease bounds a lease; see [Backend.live].
const MaxLease = 10 * time.Minute

// Options configure a store.
type Options struct {
	// Client talks to S3 ([NewClient]); calls go to the bucket's region
	// whatever region it is configured for.
	Client API
	Store  manifest.Store
	// AllowUnversioned turns refusing an unversioned bucket into a
	// warning: --allow-unversioned-store, never from configuration.
	AllowUnversioned bool
	// Lease is an intent's lease (DefaultLease when zero).
	Lease time.Duration
	// Now is the clock (time.Now when nil), for tests.
	Now func() time.Time
}

// Backend is a bucket and prefix holding devices' files.
type Backend struct {
	api    API
	st     manifest.Store
	allow  bool
	lease  time.Duration
	now    func() time.Time
	holder string // this run's token in the intents it holds

	mu       sync.Mutex
	region   string // the bucket's, once found
	located  bool
	describe string // what Check found, for Describe
	held     map[*held]bool
}

var _ store.Backend = (*Backend)(nil)

// New returns the store o.Store names. It calls nothing: the bucket's
// region is found by the first call that needs it ([Backend.Check]
// first, as plan and apply run).
func New(ctx context.Context, o Options) (*Backend, error) {
	if o.Client == nil {
		return nil, errors.New("opening the S3 store: no S3 client")
	}
	if o.Store.Bucket == "" {
		return nil, fmt.Errorf("opening the S3 store %q: no bucket", o.Store.URL)
	}
	if o.Store.Prefix != "" && !strings.HasSuffix(o.Store.Prefix, "/") {
		return nil, fmt.Errorf("opening the S3 store %q: the prefix %q must end in /", o.Store.URL, o.Store.Prefix)
	}
	b := &Backend{api: o.Client, st: o.Store, allow: o.AllowUnversioned, lease: o.Lease, now: o.Now, holder: newToken()}
	switch {
	case b.lease == 0:
		b.lease = DefaultLease
	case b.lease < 30*time.Millisecond:
		return nil, fmt.Errorf("opening the S3 store %q: a lease of %v is too short to renew", o.Store.URL, o.Lease)
	case b.lease > MaxLease:
		return nil, fmt.Errorf("opening the S3 store %q: a lease of %v is longer than the %v other runs believe", o.Store.URL, o.Lease, MaxLease)
	}
	if b.now == nil {
		b.now = time.Now
	}
	return b, nil
}

// Describe names the store, and, after Check, its versioning and default
// encryption: "s3://b/p/ (versioned, SSE-S3)".
func (b *Backend) Describe() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.describe != "" {
		return b.url() + " (" + b.describe + ")"
	}
	return b.url()
}

func (b *Backend) url() string { return "s3://" + b.st.Bucket + "/" + b.st.Prefix }

// Close stops renewing the leases of intents still held (Done or Keep
// was never called for them): they run out by themselves, as a killed
// run's do, and the next plan finds the intents.
func (b *Backend) Close() error {
	b.mu.Lock()
	hs := make([]*held, 0, len(b.held))
	for h := range b.held {
		hs = append(hs, h)
	}
	b.mu.Unlock()
	for _, h := range hs {
		h.abandon()
	}
	return nil
}

func (b *Backend) hold(h *held) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.held == nil {
		b.held = map[*held]bool{}
	}
	b.held[h] = true
}

func (b *Backend) unhold(h *held) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.held, h)
}

// locate finds the bucket's region once; calls that follow go there.
func (b *Backend) locate(ctx context.Context) (func(*s3.Options), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.located {
		r, err := BucketRegion(ctx, b.api, b.st.Bucket)
		if err != nil {
			return nil, err
		}
		b.region, b.located = r, true
	}
	return inRegion(b.region), nil
}

// obj addresses the objects of one outfile: its key and the keys beside.
type obj struct {
	bucket string
	key    string // the outfile's
}

func (o obj) dir() string {
	if d := path.Dir(o.key); d != "." {
		return d + "/"
	}
	return ""
}
func (o obj) name() string                 { return path.Base(o.key) }
func (o obj) record() string               { return o.dir() + journal.RecordName(o.name()) }
func (o obj) intent() string               { return o.dir() + journal.Name(o.name()) }
func (o obj) aside(s string, n int) string { return o.dir() + atomicfile.AsideName(o.name(), s, n) }
func (o obj) url(key string) string        { return "s3://" + o.bucket + "/" + key }

// object returns the keys of the outfile at url (a manifest.Device's
// Outfile, s3://BUCKET/PREFIX/KEY), which must be in this store.
func (b *Backend) object(url string) (obj, error) {
	bucket, key, err := ParseURL(url)
	if err != nil {
		return obj{}, err
	}
	if bucket != b.st.Bucket || !strings.HasPrefix(key, b.st.Prefix) || key == b.st.Prefix {
		return obj{}, fmt.Errorf("outfile %s is not in the store %s", url, b.url())
	}
	return obj{bucket: bucket, key: key}, nil
}

// ParseURL splits s3://BUCKET/KEY.
func ParseURL(url string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(url, "s3://")
	bucket, key, _ = strings.Cut(rest, "/")
	if !ok || bucket == "" || key == "" || strings.HasSuffix(key, "/") {
		return "", "", fmt.Errorf("%q is not an S3 object's URL (s3://BUCKET/KEY)", url)
	}
	return bucket, key, nil
}

// Files returns a device's files, for writing.
func (b *Backend) Files(ctx context.Context, d manifest.Device) (store.Files, error) {
	o, err := b.object(d.Outfile)
	if err != nil {
		return nil, err
	}
	return &files{b: b, o: o}, nil
}
