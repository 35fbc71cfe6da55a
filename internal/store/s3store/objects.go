package s3store

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// got is an object read whole, up to a bound.
type got struct {
	found    bool
	tooLarge bool // larger than the bound: data is nil
	data     []byte
	etag     string
	modified time.Time         // S3's Last-Modified (zero when not given)
	meta     map[string]string // user metadata
}

// get reads key whole, up to max bytes; an absent key is found false.
func (b *Backend) get(ctx context.Context, key string, max int64) (got, error) {
	opt, err := b.locate(ctx)
	if err != nil {
		return got{}, err
	}
	return getObject(ctx, b.api, opt, b.st.Bucket, key, max)
}

func getObject(ctx context.Context, api API, opt func(*s3.Options), bucket, key string, max int64) (got, error) {
	out, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}, opt)
	if isNotFound(err) {
		return got{}, nil
	}
	if err != nil {
		return got{}, fmt.Errorf("reading s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	g := got{found: true, etag: aws.ToString(out.ETag), modified: aws.ToTime(out.LastModified), meta: out.Metadata}
	if out.ContentLength != nil && *out.ContentLength > max {
		g.tooLarge = true
		return g, nil
	}
	data, err := io.ReadAll(io.LimitReader(out.Body, max+1))
	if err != nil {
		return got{}, fmt.Errorf("reading s3://%s/%s: %w", bucket, key, err)
	}
	if int64(len(data)) > max {
		g.tooLarge = true
		return g, nil
	}
	g.data = data
	return g, nil
}

// cond is a write's condition: create only (ifMatch ""), or replace
// exactly the object with ETag ifMatch; meta is the object's user
// metadata (x-amz-meta-*).
type cond struct {
	ifMatch string
	meta    map[string]string
}

var create = cond{}

// put writes key under c, with a SHA-256 checksum (Object Lock buckets
// refuse an upload without one) and the store's KMS key when it names
// one, and returns the new object's ETag. A failed condition is S3's
// 412, for the caller to name (see isPreconditionFailed).
func (b *Backend) put(ctx context.Context, key string, data []byte, c cond) (string, error) {
	opt, err := b.locate(ctx)
	if err != nil {
		return "", err
	}
	return putObject(ctx, b.api, opt, b.st.Bucket, b.st.KMSKeyID, key, data, c)
}

func putObject(ctx context.Context, api API, opt func(*s3.Options), bucket, kms, key string, data []byte, c cond) (string, error) {
	sum := sha256.Sum256(data)
	in := &s3.PutObjectInput{
		Bucket:            aws.String(bucket),
		Key:               aws.String(key),
		Body:              bytes.NewReader(data),
		ContentLength:     aws.Int64(int64(len(data))),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
		ChecksumSHA256:    aws.String(base64.StdEncoding.EncodeToString(sum[:])),
	}
	if c.ifMatch == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(c.ifMatch)
	}
	if c.meta != nil {
		in.Metadata = c.meta
	}
	if kms != "" {
		in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
		in.SSEKMSKeyId = aws.String(kms)
	}
	out, err := api.PutObject(ctx, in, opt)
	if c.ifMatch != "" {
		err = ifMatchErr(err)
	}
	if err != nil {
		return "", fmt.Errorf("writing s3://%s/%s: %w", bucket, key, err)
	}
	return aws.ToString(out.ETag), nil
}

// del deletes key only while its ETag is etag: never an object someone
// wrote since it was read. An object already gone is deleted: the SDK's
// retry of a delete whose answer was lost finds it so (S3's 404), and
// what a caller wants, no object at key, holds either way.
func (b *Backend) del(ctx context.Context, key, etag string) error {
	opt, err := b.locate(ctx)
	if err != nil {
		return err
	}
	_, err = b.api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.st.Bucket), Key: aws.String(key), IfMatch: aws.String(etag)}, opt)
	if err = ifMatchErr(err); errors.Is(err, errGone) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("removing s3://%s/%s: %w", b.st.Bucket, key, err)
	}
	return nil
}

// macKey is the metadata an outfile is written with: outfileMAC of its
// SHA-256 by the proof of the intent under which it was written.
const macKey = "mfabulk-intent-mac"

// outfileMAC binds an outfile's SHA-256 to the intent it was written
// under: keyed by the intent's proof, which only the intent (and the
// record) holds, so an object another principal put at an outfile's key
// without reading them does not pass for the intent's run's outfile.
func outfileMAC(proof, sum string) string {
	m := hmac.New(sha256.New, []byte(proof))
	m.Write([]byte("mfabulk outfile v1\x00" + sum))
	return hex.EncodeToString(m.Sum(nil))
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// newToken returns a random token naming this run as an intent's holder.
func newToken() string {
	var b [16]byte
	rand.Read(b[:]) // never fails: since Go 1.24 a broken source crashes the program
	return hex.EncodeToString(b[:])
}
