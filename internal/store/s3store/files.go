package s3store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mfabulk/mfabulk/internal/failpoint"
	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/store"
)

// files is one device's objects.
type files struct {
	b *Backend
	o obj
}

func (f *files) Where() string { return f.o.url(f.o.key) }

func (f *files) Exists(ctx context.Context) (bool, error) {
	opt, err := f.b.locate(ctx)
	if err != nil {
		return false, err
	}
	_, err = f.b.api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(f.o.bucket), Key: aws.String(f.o.key)}, opt)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("looking for outfile %s: %w", f.Where(), err)
	}
	return true, nil
}

// MoveAside copies the outfile to its aside key, never over anything
// (the next -n when that key is taken), then deletes the outfile only if
// it is still the object copied: a crash between leaves both, never
// neither, and an outfile written meanwhile is never deleted.
func (f *files) MoveAside(ctx context.Context, stamp string) (string, error) {
	g, err := f.b.get(ctx, f.o.key, journal.MaxOutfileSize)
	if err != nil {
		return "", err
	}
	if !g.found {
		return "", fmt.Errorf("moving outfile %s aside: it is not there", f.Where())
	}
	if g.tooLarge {
		return "", fmt.Errorf("moving outfile %s aside: it is larger than %d bytes, not an outfile of mfabulk's; move it yourself", f.Where(), journal.MaxOutfileSize)
	}
	for n := 1; n <= 1000; n++ {
		aside := f.o.aside(stamp, n)
		_, err := f.b.putOwn(ctx, aside, g.data, create)
		if isPreconditionFailed(err) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("moving outfile %s aside: %w", f.Where(), err)
		}
		failpoint.Hit(failpoint.AsideCopied) // both keys hold the outfile now
		if err := f.b.del(ctx, f.o.key, g.etag); err != nil {
			if isPreconditionFailed(err) {
				return "", fmt.Errorf("moving outfile %s aside: it changed while it was copied to %s (another run or principal wrote it); run plan again", f.Where(), f.o.url(aside))
			}
			return "", fmt.Errorf("moving outfile %s aside (copied to %s): %w", f.Where(), f.o.url(aside), err)
		}
		return f.o.url(aside), nil
	}
	return "", fmt.Errorf("moving outfile %s aside: every name for stamp %s is taken", f.Where(), stamp)
}

// putOwn is put, except that a failed condition on an object that
// already holds exactly data is this run's own write (an SDK retry of a
// write whose answer was lost, or an earlier try of a move): done.
func (b *Backend) putOwn(ctx context.Context, key string, data []byte, c cond) (string, error) {
	etag, err := b.put(ctx, key, data, c)
	if !isPreconditionFailed(err) {
		return etag, err
	}
	g, gerr := b.get(ctx, key, int64(len(data)))
	if gerr == nil && g.found && !g.tooLarge && bytes.Equal(g.data, data) {
		return g.etag, nil
	}
	return "", err
}

// OutfileSHA256 is the hex SHA-256 of the outfile; "" when there is none
// or it is larger than any outfile.
func (f *files) OutfileSHA256(ctx context.Context) (string, error) {
	g, err := f.b.get(ctx, f.o.key, journal.MaxOutfileSize)
	if err != nil || !g.found || g.tooLarge {
		return "", err
	}
	return sha256Hex(g.data), nil
}

// writeOutfile writes a new outfile, stamped with outfileMAC under the
// intent's proof when there is one.
func (f *files) writeOutfile(ctx context.Context, ciphertext []byte, proof string) (string, error) {
	c := create
	if proof != "" {
		c.meta = map[string]string{macKey: outfileMAC(proof, sha256Hex(ciphertext))}
	}
	_, err := f.b.putOwn(ctx, f.o.key, ciphertext, c)
	if isPreconditionFailed(err) {
		return "", fmt.Errorf("writing outfile %s: %w", f.Where(), store.ErrExists)
	}
	if err != nil {
		return "", err
	}
	return sha256Hex(ciphertext), nil
}

// writeRecord replaces only an earlier record: an object at the
// record's key that is not one is refused, and one written since it was
// read is not overwritten (If-Match).
func (f *files) writeRecord(ctx context.Context, r journal.Record) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("writing the record of %s: %w", f.Where(), err)
	}
	data = append(data, '\n')
	key := f.o.record()
	g, err := f.b.get(ctx, key, journal.MaxIntentSize)
	if err != nil {
		return err
	}
	c := create
	if g.found {
		if parseRecord(g) == nil {
			return fmt.Errorf("writing the record of %s: %s is not a record of mfabulk's, and mfabulk replaces only an earlier record; remove it", f.Where(), f.o.url(key))
		}
		c = cond{ifMatch: g.etag}
	}
	_, err = f.b.putOwn(ctx, key, data, c)
	if isPreconditionFailed(err) {
		return fmt.Errorf("writing record %s: %w (another run wrote it meanwhile)", f.o.url(key), store.ErrChanged)
	}
	return err
}

// parseRecord reads a record as journal.ReadRecord does: nil unless it
// is small and well formed, with a create ID.
func parseRecord(g got) *journal.Record {
	if !g.found || g.tooLarge {
		return nil
	}
	var r journal.Record
	if json.Unmarshal(g.data, &r) != nil || r.CreateID == "" {
		return nil
	}
	return &r
}

// leased is an intent object: the journal's intent, with the lease of
// the run that holds it.
type leased struct {
	journal.Intent
	// Holder is the token of the run that holds it ("" once released).
	Holder     string    `json:"holder,omitempty"`
	LeaseUntil time.Time `json:"lease_until"`
	// Lease is the holder's lease, which it renews every third of: how
	// long after its last write another run believes LeaseUntil (see
	// Backend.live).
	Lease time.Duration `json:"lease,omitempty"`
}

// parseIntent parses an intent strictly, as the folder's journal does:
// bounded, one JSON object naming a device, path and account.
func parseIntent(g got) (leased, error) {
	if g.tooLarge {
		return leased{}, fmt.Errorf("it is larger than %d bytes", journal.MaxIntentSize)
	}
	var in leased
	if err := json.Unmarshal(g.data, &in); err != nil {
		return leased{}, errors.New("it is not a well-formed intent")
	}
	if in.Device == "" || in.Path == "" || in.Account == "" {
		return leased{}, errors.New("it does not name a device, path and account")
	}
	return in, nil
}
