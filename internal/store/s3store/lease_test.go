package s3store

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/store"
)

// later is a clock ahead of the real one: another runner's, once a lease
// has had time to run out.
func later(d time.Duration) func() time.Time { return func() time.Time { return time.Now().Add(d) } }

// waitLost waits until h's renewals have found its lease lost: a renewal
// is due every third of the lease, but a loaded machine may run it late,
// and a test that slept a fixed time would then see a write go through.
func waitLost(t *testing.T, h store.Held) {
	t.Helper()
	hd := h.(*held)
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		hd.mu.Lock()
		lost := hd.lost != nil
		hd.mu.Unlock()
		if lost {
			return
		}
	}
	t.Fatal("no renewal found the lease lost within 30 s")
}

// seenBy is what b's plan sees of d's intent.
func seenBy(t *testing.T, b *Backend, d manifest.Device) (store.Seen, journal.State) {
	t.Helper()
	ev, err := b.Read(context.Background(), account, []manifest.Device{d})
	if err != nil {
		t.Fatal(err)
	}
	e := ev[d.Name]
	s := store.Seen{Present: e.Intent.State == journal.Pending || e.Intent.State == journal.Busy, Version: e.IntentVersion}
	if e.Intent.Intent != nil {
		s.CreateID = e.Intent.Intent.CreateID
	}
	return s, e.Intent.State
}

func readIntent(t *testing.T, bucket string) leased {
	t.Helper()
	data, ok := rawGet(t, bucket, "mfa/out/.erin.png.age.intent")
	if !ok {
		t.Fatal("the intent is gone")
	}
	var in leased
	if err := json.Unmarshal(data, &in); err != nil {
		t.Fatal(err)
	}
	return in
}

// A killed run's intent is taken over only once its lease has expired,
// and only when it is the intent the plan saw (create ID and ETag).
func TestLeaseTakeoverOnlyAfterExpiryAndUnchanged(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	d := device(bucket, "erin")
	a := open(t, bucket, Options{})
	killed := intentOf(d)
	h, err := filesOf(t, a, d).Begin(ctx, killed, store.Seen{})
	if err != nil {
		t.Fatal(err)
	}
	h.(*held).abandon() // killed: no Keep, no Done, no renewal

	// Before the lease runs out: busy, whatever the plan saw.
	b := open(t, bucket, Options{})
	seen, state := seenBy(t, b, d)
	if state != journal.Busy {
		t.Fatalf("plan during the lease: %v, want Busy", state)
	}
	if _, err := filesOf(t, b, d).Begin(ctx, intentOf(d), seen); !errors.Is(err, store.ErrBusy) {
		t.Fatalf("Begin during the lease = %v, want ErrBusy", err)
	}

	// After it: pending, and taken over only as the plan saw it.
	c := open(t, bucket, Options{Now: later(DefaultLease + time.Second)})
	seen, state = seenBy(t, c, d)
	if state != journal.Pending || seen.CreateID != killed.CreateID {
		t.Fatalf("plan after the lease: %v %+v", state, seen)
	}
	for name, s := range map[string]store.Seen{
		"no intent":       {},
		"other create ID": {Present: true, CreateID: "0123", Version: seen.Version},
		"other ETag":      {Present: true, CreateID: seen.CreateID, Version: `"0123"`},
	} {
		if _, err := filesOf(t, c, d).Begin(ctx, intentOf(d), s); !errors.Is(err, store.ErrChanged) {
			t.Errorf("Begin having seen %s = %v, want ErrChanged", name, err)
		}
	}
	if got := readIntent(t, bucket); got.CreateID != killed.CreateID {
		t.Fatalf("a refused Begin rewrote the intent: %+v", got)
	}

	// Rewritten since plan (same create ID, another ETag): refused.
	in := readIntent(t, bucket)
	in.PID++
	data, _ := json.Marshal(in)
	raw(t, bucket, "mfa/out/.erin.png.age.intent", data)
	if _, err := filesOf(t, c, d).Begin(ctx, intentOf(d), seen); !errors.Is(err, store.ErrChanged) {
		t.Fatalf("Begin on an intent rewritten since plan = %v, want ErrChanged", err)
	}

	seen, _ = seenBy(t, c, d)
	next := intentOf(d)
	h, err = filesOf(t, c, d).Begin(ctx, next, seen)
	if err != nil {
		t.Fatalf("takeover = %v", err)
	}
	defer h.Keep(ctx)
	if got := readIntent(t, bucket); got.CreateID != next.CreateID || got.Holder != c.holder {
		t.Fatalf("after takeover the intent is %+v", got)
	}
}

// A live run renews its lease: another run never takes it, however long
// the run works; once it keeps the intent, the next run may at once.
func TestLiveLeaseIsNeverTaken(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	d := device(bucket, "erin")
	// Renewed every second: a renewal may come two seconds late on a
	// loaded machine before the lease really runs out.
	const lease = 3 * time.Second
	a := open(t, bucket, Options{Lease: lease})
	h, err := filesOf(t, a, d).Begin(ctx, intentOf(d), store.Seen{})
	if err != nil {
		t.Fatal(err)
	}
	first := readIntent(t, bucket).LeaseUntil
	b := open(t, bucket, Options{Lease: lease})
	for range 4 {
		time.Sleep(lease / 2)
		seen, state := seenBy(t, b, d)
		if state != journal.Busy {
			t.Fatalf("plan during a live run: %v, want Busy", state)
		}
		if _, err := filesOf(t, b, d).Begin(ctx, intentOf(d), seen); !errors.Is(err, store.ErrBusy) {
			t.Fatalf("Begin during a live run = %v, want ErrBusy", err)
		}
	}
	if !readIntent(t, bucket).LeaseUntil.After(first) {
		t.Fatal("the lease was not renewed")
	}
	if _, err := h.WriteOutfile(ctx, []byte("ct")); err != nil {
		t.Fatalf("the holder's write after renewals = %v", err)
	}
	if err := h.Keep(ctx); err != nil {
		t.Fatal(err)
	}
	seen, state := seenBy(t, b, d)
	if state != journal.Pending {
		t.Fatalf("plan after Keep: %v, want Pending", state)
	}
	h2, err := filesOf(t, b, d).Begin(ctx, intentOf(d), seen)
	if err != nil {
		t.Fatalf("Begin after Keep = %v", err)
	}
	h2.Keep(ctx)
}

// A run whose intent was taken over (its renewals failed for longer
// than the lease) writes nothing more, and does not remove the intent.
func TestLostLeaseStopsWrites(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	d := device(bucket, "erin")
	const lease = 900 * time.Millisecond
	a := open(t, bucket, Options{Lease: lease})
	h, err := filesOf(t, a, d).Begin(ctx, intentOf(d), store.Seen{})
	if err != nil {
		t.Fatal(err)
	}
	b := open(t, bucket, Options{Lease: lease, Now: later(time.Hour)})
	seen, _ := seenBy(t, b, d)
	taker := intentOf(d)
	h2, err := filesOf(t, b, d).Begin(ctx, taker, seen)
	if err != nil {
		t.Fatal(err)
	}
	h2.(*held).abandon()
	waitLost(t, h) // a renewal meets the takeover
	_, err = h.WriteOutfile(ctx, []byte("ct"))
	mustContain(t, err, "lease", "lost")
	if ok, _ := filesOf(t, a, d).Exists(ctx); ok {
		t.Fatal("a run that lost its lease wrote the outfile")
	}
	if err := h.Done(ctx); err == nil {
		t.Fatal("Done after the lease was lost succeeded")
	}
	if got := readIntent(t, bucket); got.CreateID != taker.CreateID {
		t.Fatalf("the intent is %+v, want the taker's", got)
	}
}

// Done never deletes an intent someone rewrote since this run wrote it.
func TestDoneRefusesAChangedIntent(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	d := device(bucket, "erin")
	a := open(t, bucket, Options{})
	h, err := filesOf(t, a, d).Begin(ctx, intentOf(d), store.Seen{})
	if err != nil {
		t.Fatal(err)
	}
	in := readIntent(t, bucket)
	in.PID++
	data, _ := json.Marshal(in)
	raw(t, bucket, "mfa/out/.erin.png.age.intent", data)
	err = h.Done(ctx)
	if !errors.Is(err, store.ErrChanged) {
		t.Fatalf("Done = %v, want ErrChanged", err)
	}
	if _, ok := rawGet(t, bucket, "mfa/out/.erin.png.age.intent"); !ok {
		t.Fatal("Done deleted a rewritten intent")
	}
}

// Close stops renewing what is still held: the lease runs out, and the
// next plan finds the intent pending.
func TestCloseLetsLeasesRunOut(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	d := device(bucket, "erin")
	const lease = 600 * time.Millisecond
	a := open(t, bucket, Options{Lease: lease})
	if _, err := filesOf(t, a, d).Begin(ctx, intentOf(d), store.Seen{}); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(lease + lease/2)
	if _, state := seenBy(t, open(t, bucket, Options{}), d); state != journal.Pending {
		t.Fatalf("plan after Close: %v, want Pending", state)
	}
}

// An intent someone deleted is not "done" by this run: Done says it
// changed; a renewal meeting it gone loses the lease.
func TestIntentDeletedUnderTheHolder(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	d := device(bucket, "erin")
	const lease = 600 * time.Millisecond
	// erin's holder renews only every 10 s, so that no renewal meets her
	// intent gone before Done does (that renewal rightly loses the
	// lease, as frank's shows); frank's renews every 200 ms.
	slow := open(t, bucket, Options{Lease: 30 * time.Second})
	h, err := filesOf(t, slow, d).Begin(ctx, intentOf(d), store.Seen{})
	if err != nil {
		t.Fatal(err)
	}
	a := open(t, bucket, Options{Lease: lease})
	h2, err := filesOf(t, a, device(bucket, "frank")).Begin(ctx, intentOf(device(bucket, "frank")), store.Seen{})
	if err != nil {
		t.Fatal(err)
	}
	c := client(t, "us-east-1")
	for _, k := range []string{"mfa/out/.erin.png.age.intent", "mfa/out/.frank.png.age.intent"} {
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
	}
	// Gone is what Done wants: as after a retry of a lost answer.
	if err := h.Done(ctx); err != nil {
		t.Fatalf("Done of a deleted intent = %v, want done", err)
	}
	waitLost(t, h2)
	_, err = h2.WriteOutfile(ctx, []byte("ct"))
	mustContain(t, err, "lease", "lost")
	if _, ok := rawGet(t, bucket, "mfa/out/.frank.png.age.intent"); ok {
		t.Fatal("a renewal recreated a deleted intent")
	}
}

// A lease is a time the holder's clock wrote: one that ends further
// ahead than any run's lease can (a runner's clock a year fast, or an
// intent planted with a lease until 9999) must not hold the device busy
// forever. It runs out a bounded time after the object was last written,
// by S3's clock, and is then taken over as any expired lease.
func TestFarFutureLeaseRunsOut(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	d := device(bucket, "erin")
	// Planted without a lease's length: believed for at most 2*MaxLease.
	in := leased{Intent: intentOf(d), Holder: "planted", LeaseUntil: time.Now().AddDate(1, 0, 0)}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	raw(t, bucket, "mfa/out/.erin.png.age.intent", data)
	if _, st := seenBy(t, open(t, bucket, Options{Now: later(2*MaxLease - time.Minute)}), d); st != journal.Busy {
		t.Fatalf("just written: %v, want Busy", st)
	}
	if _, st := seenBy(t, open(t, bucket, Options{Now: later(2*MaxLease + time.Minute)}), d); st != journal.Pending {
		t.Fatalf("a planted lease a year ahead, %v after it was written: %v, want Pending (it never runs out)", 2*MaxLease+time.Minute, st)
	}
	// A runner's with the default lease and a clock a year fast.
	in.Holder, in.Lease = "fast-clock", DefaultLease
	if data, err = json.Marshal(in); err != nil {
		t.Fatal(err)
	}
	raw(t, bucket, "mfa/out/.erin.png.age.intent", data)
	if _, st := seenBy(t, open(t, bucket, Options{}), d); st != journal.Busy {
		t.Fatalf("just written: %v, want Busy", st)
	}
	b := open(t, bucket, Options{Now: later(2*DefaultLease + time.Minute)})
	seen, st := seenBy(t, b, d)
	if st != journal.Pending {
		t.Fatalf("a lease a year ahead, %v after it was written: %v, want Pending (it never runs out)", 2*DefaultLease+time.Minute, st)
	}
	h, err := filesOf(t, b, d).Begin(ctx, in.Intent, seen)
	if err != nil {
		t.Fatalf("Begin over the run-out lease the plan saw = %v", err)
	}
	h.Keep(ctx)
}

// A run may hold a longer lease than the default (MFABULK_S3_LEASE): a
// run with the default lease believes it for as long as it says, up to
// MaxLease, and New refuses a longer one.
func TestLongerLeaseIsBelieved(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	d := device(bucket, "erin")
	a := open(t, bucket, Options{Lease: 6 * time.Minute})
	h, err := filesOf(t, a, d).Begin(ctx, intentOf(d), store.Seen{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Keep(ctx)
	if _, st := seenBy(t, open(t, bucket, Options{Now: later(5 * time.Minute)}), d); st != journal.Busy {
		t.Fatalf("a live 6-minute lease, 5 minutes on: %v, want Busy", st)
	}
	if _, err := New(ctx, Options{Client: client(t, "us-east-1"), Store: storeOf(bucket), Lease: MaxLease + time.Second}); err == nil {
		t.Fatal("New took a lease longer than MaxLease")
	}
}

// S3's Last-Modified is to the second: the bound on a lease (see
// Backend.live) must not make a short lease, renewed on time, look run
// out to another run. The intent is written in the second half of a
// second, so its Last-Modified is at least half a second before it, and
// the other run looks a third of the lease after the write, by its own
// clock (Now), so that no renewal's timing on a loaded machine matters.
func TestShortLiveLeaseIsBusy(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	d := device(bucket, "erin")
	const lease = 150 * time.Millisecond
	a := open(t, bucket, Options{Lease: lease})
	if ns := time.Now().Nanosecond(); ns < 5e8 {
		time.Sleep(time.Duration(5e8 - ns))
	}
	written := time.Now()
	h, err := filesOf(t, a, d).Begin(ctx, intentOf(d), store.Seen{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Keep(ctx)
	b := open(t, bucket, Options{Lease: lease, Now: func() time.Time { return written.Add(lease / 3) }})
	if _, st := seenBy(t, b, d); st != journal.Busy {
		t.Fatalf("a live lease of %v, a third of it after it was written: %v, want Busy", lease, st)
	}
}
