package s3store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/mfabulk/mfabulk/internal/journal"
)

// ErrNoOutfile is wrapped by [ReadOutfile]'s error when no object is at
// the URL.
var ErrNoOutfile = errors.New("no such object")

// ReadOutfile reads the outfile at url (s3://BUCKET/KEY) and its record,
// in memory, with the caller's credentials: what `show` and `enroll` of
// an s3:// outfile read, writing nothing locally. The record is nil when
// there is none or it is not well formed; whether it proves anything is
// the caller's to check (journal.Proves, its OutfileSHA256).
//
// A person's policy grants s3:GetObject on their own outfile and record
// and nothing on the bucket: HeadBucket, which finds the bucket's region,
// may be denied (S3 then still names the region in its 403, as the
// client's region does when it does not), and only GetObject's own denial
// is an error, naming the permission missing.
func ReadOutfile(ctx context.Context, api API, url string) (ciphertext []byte, rec *journal.Record, err error) {
	bucket, key, err := ParseURL(url)
	if err != nil {
		return nil, nil, err
	}
	region, err := BucketRegion(ctx, api, bucket)
	switch {
	case errors.Is(err, errNoBucket):
		return nil, nil, fmt.Errorf("reading %s: bucket %s does not exist (or these credentials cannot see it): check the URL: %w", url, bucket, err)
	case err != nil && !isAccessDenied(err):
		return nil, nil, err
	}
	opt := inRegion(region)
	o := obj{bucket: bucket, key: key}
	denied := func(err error) error {
		return fmt.Errorf("reading %s: access denied: these credentials need s3:GetObject on arn:aws:s3:::%s/%s and on its record arn:aws:s3:::%s/%s (without s3:ListBucket, S3 answers so for a key that does not exist too): %w",
			url, bucket, key, bucket, o.record(), err)
	}
	g, err := getObject(ctx, api, opt, bucket, key, journal.MaxOutfileSize)
	switch {
	case isAccessDenied(err):
		return nil, nil, denied(err)
	case err != nil:
		return nil, nil, err
	case !g.found:
		return nil, nil, fmt.Errorf("no outfile at %s: %w", url, ErrNoOutfile)
	case g.tooLarge:
		return nil, nil, fmt.Errorf("reading %s: it is larger than %d bytes, not an outfile of mfabulk's", url, journal.MaxOutfileSize)
	}
	rg, err := getObject(ctx, api, opt, bucket, o.record(), journal.MaxIntentSize)
	switch {
	case isAccessDenied(err):
		return nil, nil, denied(err)
	case err != nil:
		return nil, nil, err
	}
	return g.data, parseRecord(rg), nil
}

// Import copies an outfile and its record (nil for none) from a folder
// into the store at outfile (its s3://BUCKET/PREFIX/KEY URL, or KEY under
// the prefix), never overwriting: an object already there with the same
// bytes is already copied (a re-run), one with other bytes is an error.
// The outfile is read back and its hash checked. copied reports whether
// anything was written.
func (b *Backend) Import(ctx context.Context, outfile string, ciphertext []byte, rec *journal.Record) (copied bool, err error) {
	if !strings.HasPrefix(outfile, "s3://") {
		outfile = b.url() + outfile
	}
	o, err := b.object(outfile)
	if err != nil {
		return false, err
	}
	wrote, err := b.importObject(ctx, o, o.key, ciphertext, journal.MaxOutfileSize)
	if err != nil {
		return false, err
	}
	copied = wrote
	if rec != nil {
		data, err := json.Marshal(rec)
		if err != nil {
			return copied, fmt.Errorf("copying the record of %s: %w", outfile, err)
		}
		wrote, err := b.importObject(ctx, o, o.record(), append(data, '\n'), journal.MaxIntentSize)
		if err != nil {
			return copied, err
		}
		copied = copied || wrote
	}
	g, err := b.get(ctx, o.key, journal.MaxOutfileSize)
	if err != nil {
		return copied, fmt.Errorf("verifying %s: %w", outfile, err)
	}
	if !g.found || g.tooLarge || sha256Hex(g.data) != sha256Hex(ciphertext) {
		return copied, fmt.Errorf("verifying %s: the object read back is not the outfile copied (its SHA-256 differs)", outfile)
	}
	return copied, nil
}

// importObject writes data at key unless an object is there: the same
// bytes are a copy already made, others are refused.
func (b *Backend) importObject(ctx context.Context, o obj, key string, data []byte, max int64) (bool, error) {
	_, err := b.put(ctx, key, data, create)
	if err == nil {
		return true, nil
	}
	if !isPreconditionFailed(err) {
		return false, err
	}
	g, gerr := b.get(ctx, key, max)
	if gerr != nil {
		return false, gerr
	}
	if g.found && !g.tooLarge && bytes.Equal(g.data, data) {
		return false, nil
	}
	return false, fmt.Errorf("copying to %s: another object is already there (its SHA-256 differs from the file's); mfabulk never overwrites one: move it, or copy this one by hand", o.url(key))
}
