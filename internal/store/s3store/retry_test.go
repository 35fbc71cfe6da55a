package s3store

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mfabulk/mfabulk/internal/store"
)

// lostDeletes is S3 whose answers to DeleteObject are lost: the delete is
// done, and the SDK's retry of it is what the caller hears.
type lostDeletes struct{ API }

func (l lostDeletes) DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, opts ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	if _, err := l.API.DeleteObject(ctx, in, opts...); err != nil {
		return nil, err
	}
	return l.API.DeleteObject(ctx, in, opts...)
}

// A conditional delete whose answer was lost and was retried finds the
// object gone: the intent is settled and the outfile moved aside, as
// asked, not "rewritten by another run".
func TestLostDeleteAnswersAreDone(t *testing.T) {
	bucket := newBucket(t, bucketOpt{})
	b := open(t, bucket, Options{Client: lostDeletes{client(t, "us-east-1")}})
	d := device(bucket, "alice")
	write(t, b, d, []byte("alice v1"), store.Seen{}, "")
	write(t, b, d, []byte("alice v2"), store.Seen{}, "T1")
	if data, _ := rawGet(t, bucket, "mfa/out/alice.png.age"); string(data) != "alice v2" {
		t.Fatalf("outfile holds %q", data)
	}
	if _, ok := rawGet(t, bucket, "mfa/out/.alice.png.age.intent"); ok {
		t.Fatal("the intent is still there")
	}
}
