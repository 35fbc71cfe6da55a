package s3store

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/mfabulk/mfabulk/internal/failpoint"
	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/store"
)

// Begin writes the intent and holds it by a lease, as journal.Begin does
// in a folder: a new intent only where there is none (If-None-Match: *),
// and an earlier run's taken over only when its lease has expired and it
// is exactly the intent the plan saw (its create ID and, when the plan
// read it, its ETag), by a write If-Match that ETag. Another account's or
// device's intent is refused. Nothing is deleted.
func (f *files) Begin(ctx context.Context, in journal.Intent, seen store.Seen) (store.Held, error) {
	key := f.o.intent()
	where := f.o.url(key)
	g, err := f.b.get(ctx, key, journal.MaxIntentSize)
	if err != nil {
		return nil, fmt.Errorf("recording the intent: %w", err)
	}
	c := create
	if !g.found {
		if seen.Present {
			return nil, fmt.Errorf("intent %s: %w (it is gone)", where, store.ErrChanged)
		}
	} else {
		prev, perr := parseIntent(g)
		switch {
		case perr == nil && prev.Key() != in.Key():
			return nil, fmt.Errorf("intent %s belongs to device %q at %s in account %s, not to this plan: mfabulk acts on an intent only for what it names; run plan against that account, or remove the object", where, prev.Device, prev.Path, prev.Account)
		case perr == nil && f.b.live(prev, g):
			return nil, store.ErrBusy
		case perr == nil && !seen.Present:
			return nil, fmt.Errorf("intent %s: %w (it names create ID %s; the plan saw no intent)", where, store.ErrChanged, prev.CreateID)
		case perr == nil && prev.CreateID != seen.CreateID:
			return nil, fmt.Errorf("intent %s: %w (it names create ID %s; the plan saw %s)", where, store.ErrChanged, prev.CreateID, seen.CreateID)
		case perr != nil && seen.Present:
			return nil, fmt.Errorf("intent %s: %w (%v)", where, store.ErrChanged, perr)
		case perr != nil && seen.Version != g.etag:
			return nil, fmt.Errorf("intent %s: %w (an object that is no intent of mfabulk's is there: %v); mfabulk replaces none it did not read as plan did: remove it", where, store.ErrChanged, perr)
		case seen.Version != "" && seen.Version != g.etag:
			return nil, fmt.Errorf("intent %s: %w (it was rewritten since plan read it)", where, store.ErrChanged)
		}
		// An expired intent the plan saw, or an object that is no intent
		// at all whose ETag plan read: replaced only as read. (A run
		// killed while writing leaves no partial object in S3, as it can
		// leave an empty file in a folder: an object that is no intent
		// was put there by someone else.)
		c = cond{ifMatch: g.etag}
	}
	h := &held{files: f, proof: in.Proof, in: leased{Intent: in, Holder: f.b.holder, Lease: f.b.lease}}
	h.in.LeaseUntil = f.b.now().Add(f.b.lease)
	data, err := json.Marshal(h.in)
	if err != nil {
		return nil, fmt.Errorf("writing intent %s: %w", where, err)
	}
	h.etag, err = f.b.putOwn(ctx, key, data, c)
	if isPreconditionFailed(err) {
		return nil, fmt.Errorf("intent %s: %w (another run wrote one meanwhile)", where, store.ErrChanged)
	}
	if err != nil {
		return nil, fmt.Errorf("writing intent %s: %w", where, err)
	}
	if c.ifMatch != "" {
		failpoint.Hit(failpoint.IntentRewritten) // taken over, not yet renewed
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h.stop, h.stopped = cancel, make(chan struct{})
	go h.renewing(rctx)
	f.b.hold(h)
	return h, nil
}

// live reports whether in's lease (read in g) has not run out. The lease
// is the holder's clock's; it is believed only up to twice its length (as
// the intent says, at most MaxLease) after S3 last saw the object written
// (its Last-Modified), so that a runner whose clock is far ahead, or an
// intent planted with a lease until 9999, holds the device about as long
// as a killed run's lease would. A live holder rewrites the object every
// third of its lease.
func (b *Backend) live(in leased, g got) bool {
	now := b.now()
	if !now.Before(in.LeaseUntil) {
		return false
	}
	span := in.Lease
	if span <= 0 || span > MaxLease {
		span = MaxLease
	}
	return g.modified.IsZero() || now.Before(g.modified.Add(2*span+modifiedSlack))
}

// modifiedSlack is added to the bound of live: S3's Last-Modified is to
// the second (truncated), and a reader's clock may be a little ahead of
// S3's; without it a short lease renewed on time looks run out.
const modifiedSlack = 2 * time.Second

// held is an intent this run holds: it renews the lease every third of
// it, by a write If-Match the ETag of its last write, so that a run that
// took the intent over is noticed, never overwritten.
type held struct {
	*files
	stop    context.CancelFunc
	stopped chan struct{}

	// proof is the intent's proof, which no renewal changes: read by the
	// writes without h.mu, while renewals rewrite in under it.
	proof string

	mu       sync.Mutex
	in       leased
	etag     string
	lost     error // set once the lease is lost: every write refuses
	released bool
	// unsure are this run's writes of the intent whose answers never
	// came (a timeout, a renewal cut short by release): S3 may hold one.
	unsure []unsure
}

// unsure is a write of the intent that may or may not have been done.
type unsure struct {
	in   leased
	data []byte
}

// adopt is called when a write If-Match h.etag failed: if the intent is
// now one of this run's own writes whose answer was lost, that write was
// done, and h follows it (true); otherwise another run wrote the intent.
// h.mu is held, or the renewals have stopped.
func (h *held) adopt(ctx context.Context) bool {
	adopted, _ := h.tryAdopt(ctx)
	return adopted
}

// tryAdopt is adopt, with the error of the read that was to tell: then
// whose write the intent is cannot be told yet.
func (h *held) tryAdopt(ctx context.Context) (bool, error) {
	if len(h.unsure) == 0 {
		return false, nil
	}
	g, err := h.b.get(ctx, h.o.intent(), journal.MaxIntentSize)
	if err != nil {
		return false, err
	}
	if !g.found || g.tooLarge {
		return false, nil
	}
	for _, u := range h.unsure {
		if bytes.Equal(g.data, u.data) {
			h.in, h.etag, h.unsure = u.in, g.etag, nil
			return true, nil
		}
	}
	return false, nil
}

func (h *held) renewing(ctx context.Context) {
	defer close(h.stopped)
	t := time.NewTicker(h.b.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.renew(ctx)
		}
	}
}

// renew extends the lease. A failed condition means another run took
// the intent over: the lease is lost. Another failure is retried at the
// next tick; [held.usable] refuses writes once the lease is about to run
// out unrenewed.
func (h *held) renew(ctx context.Context) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lost != nil || h.released {
		return
	}
	in := h.in
	in.LeaseUntil = h.b.now().Add(h.b.lease)
	data, err := json.Marshal(in)
	if err != nil {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, h.b.lease/3)
	defer cancel()
	etag, err := h.b.putOwn(cctx, h.o.intent(), data, cond{ifMatch: h.etag})
	if isPreconditionFailed(err) {
		// Told on a context of its own: a renewal that took most of
		// its time (a loaded endpoint) must not leave none to read
		// whether the intent is an earlier renewal of this run's, and
		// take its own write for another run's.
		actx, acancel := context.WithTimeout(ctx, h.b.lease/3)
		adopted, aerr := h.tryAdopt(actx)
		acancel()
		switch {
		case aerr != nil:
			return // cannot tell yet: the next tick asks again
		case adopted:
			etag, err = h.b.putOwn(cctx, h.o.intent(), data, cond{ifMatch: h.etag})
		}
	}
	switch {
	case isPreconditionFailed(err):
		h.lost = fmt.Errorf("the lease on intent %s was lost: another run rewrote or took over the intent; this run stopped working on the device (run plan again)", h.o.url(h.o.intent()))
	case err == nil:
		h.in, h.etag, h.unsure = in, etag, nil
	default:
		h.unsure = append(h.unsure, unsure{in: in, data: data})
	}
}

// usable refuses a write once the lease is lost, or when less than a
// sixth of it is left (renewals failed): another run may soon take the
// intent over, and two runs must never write one device's objects.
func (h *held) usable() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.released:
		return fmt.Errorf("intent %s was already released", h.o.url(h.o.intent()))
	case h.lost != nil:
		return h.lost
	case h.in.LeaseUntil.Sub(h.b.now()) < h.b.lease/6:
		return fmt.Errorf("the lease on intent %s runs out and could not be renewed; this run stopped working on the device (run plan again)", h.o.url(h.o.intent()))
	}
	return nil
}

func (h *held) MoveAside(ctx context.Context, stamp string) (string, error) {
	if err := h.usable(); err != nil {
		return "", err
	}
	return h.files.MoveAside(ctx, stamp)
}

func (h *held) WriteOutfile(ctx context.Context, ciphertext []byte) (string, error) {
	if err := h.usable(); err != nil {
		return "", err
	}
	return h.writeOutfile(ctx, ciphertext, h.proof)
}

// OutfileSHA256 vouches, under a held intent, only for an outfile the
// intent's run wrote (stamped with outfileMAC by its proof), since that
// is what a record written next binds to the device: in a bucket, unlike
// a folder, other principals may put an object at the outfile's key
// while a killed run's intent waits, and its seed is not the device's.
func (h *held) OutfileSHA256(ctx context.Context) (string, error) {
	g, err := h.b.get(ctx, h.o.key, journal.MaxOutfileSize)
	if err != nil || !g.found || g.tooLarge {
		return "", err
	}
	sum := sha256Hex(g.data)
	if h.proof == "" || !hmac.Equal([]byte(g.meta[macKey]), []byte(outfileMAC(h.proof, sum))) {
		return "", fmt.Errorf("outfile %s was not written under this device's intent (another principal put it there, or an older mfabulk): it proves nothing about the device; move it elsewhere, then run plan", h.Where())
	}
	return sum, nil
}

// ReadOutfile reads the outfile, only one this intent's run (or the run
// whose record it proves) wrote: see OutfileSHA256.
func (h *held) ReadOutfile(ctx context.Context) ([]byte, error) {
	g, err := h.b.get(ctx, h.o.key, journal.MaxOutfileSize)
	switch {
	case err != nil:
		return nil, err
	case !g.found:
		return nil, fmt.Errorf("reading outfile %s: it is not there", h.Where())
	case g.tooLarge:
		return nil, fmt.Errorf("reading outfile %s: it is larger than %d bytes, not an outfile of mfabulk's", h.Where(), journal.MaxOutfileSize)
	case h.proof == "" || !hmac.Equal([]byte(g.meta[macKey]), []byte(outfileMAC(h.proof, sha256Hex(g.data)))):
		return nil, fmt.Errorf("reading outfile %s: it was not written under this device's intent (another principal put it there, or an older mfabulk)", h.Where())
	}
	return g.data, nil
}

// ReplaceOutfile reads the outfile's ETag with its bytes, checks they are
// still oldSHA256, and puts ciphertext If-Match that ETag, with its
// checksum and stamped with outfileMAC under the intent's proof (as a new
// outfile is): a write since the read is never overwritten. In a
// versioned bucket, as the store requires, the old bytes stay as an older
// version of the key.
func (h *held) ReplaceOutfile(ctx context.Context, ciphertext []byte, oldSHA256 string) (string, error) {
	if err := h.usable(); err != nil {
		return "", err
	}
	g, err := h.b.get(ctx, h.o.key, journal.MaxOutfileSize)
	if err != nil {
		return "", err
	}
	if !g.found || g.tooLarge || sha256Hex(g.data) != oldSHA256 {
		return "", fmt.Errorf("replacing outfile %s: it changed since it was read: %w", h.Where(), store.ErrChanged)
	}
	c := cond{ifMatch: g.etag}
	if h.proof != "" {
		c.meta = map[string]string{macKey: outfileMAC(h.proof, sha256Hex(ciphertext))}
	}
	if _, err := h.b.putOwn(ctx, h.o.key, ciphertext, c); err != nil {
		if isPreconditionFailed(err) {
			return "", fmt.Errorf("replacing outfile %s: it changed while it was replaced: %w", h.Where(), store.ErrChanged)
		}
		return "", fmt.Errorf("replacing outfile %s: %w", h.Where(), err)
	}
	return sha256Hex(ciphertext), nil
}

func (h *held) Rewrite(ctx context.Context, in journal.Intent) error {
	if err := h.usable(); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lost != nil {
		return h.lost
	}
	l := h.in
	l.Intent = in
	data, err := json.Marshal(l)
	if err != nil {
		return err
	}
	etag, err := h.b.putOwn(ctx, h.o.intent(), data, cond{ifMatch: h.etag})
	if isPreconditionFailed(err) && h.adopt(ctx) {
		etag, err = h.b.putOwn(ctx, h.o.intent(), data, cond{ifMatch: h.etag})
	}
	switch {
	case isPreconditionFailed(err):
		h.lost = fmt.Errorf("the lease on intent %s was lost: another run rewrote or took over the intent; this run stopped working on the device (run plan again)", h.o.url(h.o.intent()))
		return h.lost
	case err != nil:
		h.unsure = append(h.unsure, unsure{in: l, data: data})
		return fmt.Errorf("rewriting intent %s: %w", h.o.url(h.o.intent()), err)
	}
	h.in, h.etag, h.unsure = l, etag, nil
	return nil
}

func (h *held) WriteRecord(ctx context.Context, r journal.Record) error {
	if err := h.usable(); err != nil {
		return err
	}
	return h.writeRecord(ctx, r)
}

// release stops renewing; after it, h.mu guards a settled lease.
func (h *held) release() error {
	h.stop()
	<-h.stopped
	h.b.unhold(h)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released {
		return fmt.Errorf("intent %s was already released", h.o.url(h.o.intent()))
	}
	h.released = true
	return nil
}

// Done deletes the intent If-Match this run's last write: an intent
// another run rewrote is never deleted; one already gone is done.
func (h *held) Done(ctx context.Context) error {
	if err := h.release(); err != nil {
		return err
	}
	if h.lost != nil {
		return h.lost
	}
	err := h.b.del(ctx, h.o.intent(), h.etag)
	if isPreconditionFailed(err) && h.adopt(ctx) {
		err = h.b.del(ctx, h.o.intent(), h.etag)
	}
	if isPreconditionFailed(err) {
		return fmt.Errorf("removing intent %s: %w (another run rewrote it; it is left for the next plan)", h.o.url(h.o.intent()), store.ErrChanged)
	}
	if err != nil {
		return fmt.Errorf("removing intent: %w", err)
	}
	return nil
}

// Keep leaves the intent for the next plan with its lease ended, so
// that the next run may take it over at once (a killed run's lease just
// runs out).
func (h *held) Keep(ctx context.Context) error {
	if err := h.release(); err != nil {
		return err
	}
	if h.lost != nil {
		return nil // another run has it; it is left, as Keep promises
	}
	in := h.in
	in.Holder, in.LeaseUntil = "", time.Time{}
	data, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("releasing intent %s: %w", h.o.url(h.o.intent()), err)
	}
	_, err = h.b.putOwn(ctx, h.o.intent(), data, cond{ifMatch: h.etag})
	if isPreconditionFailed(err) && h.adopt(ctx) {
		_, err = h.b.putOwn(ctx, h.o.intent(), data, cond{ifMatch: h.etag})
	}
	if err != nil && !isPreconditionFailed(err) {
		return fmt.Errorf("releasing intent %s (its lease runs out by itself): %w", h.o.url(h.o.intent()), err)
	}
	return nil
}

// abandon stops renewing without a word, as a killed run does: the
// lease runs out by itself.
func (h *held) abandon() {
	h.stop()
	<-h.stopped
	h.b.unhold(h)
	h.mu.Lock()
	h.released = true
	h.mu.Unlock()
}
