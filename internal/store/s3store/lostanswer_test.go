package s3store

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mfabulk/mfabulk/internal/store"
)

// loseAnswer is an S3 client whose next writes of an intent, as many as
// armed, reach S3 and their answers are lost: the caller's context was
// cancelled while the request was in flight (Done stopping a renewal), or
// its timeout passed. The caller cannot know whether the intent was
// written.
type loseAnswer struct {
	API
	armed atomic.Int32
}

func (l *loseAnswer) PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	out, err := l.API.PutObject(ctx, in, optFns...)
	if strings.HasSuffix(aws.ToString(in.Key), ".intent") && l.armed.Add(-1) >= 0 {
		return nil, context.Canceled
	}
	return out, err
}

// A renewal that S3 committed but whose answer the run never got (Done
// cancelled it in flight, or it timed out) leaves the intent as this run
// wrote it: the run goes on holding it, renews it, and settles it (Done)
// or leaves it (Keep), instead of taking its own write for another run's.
// Under load a fault storm of one run saw "another run rewrote it" at
// Done for 12 devices in a run, with no other run.
func TestRenewalWhoseAnswerWasLost(t *testing.T) {
	for _, end := range []string{"Done", "renew, then Keep", "another lost, then Done"} {
		t.Run(end, func(t *testing.T) {
			ctx := context.Background()
			bucket := newBucket(t, bucketOpt{})
			d := device(bucket, "erin")
			api := &loseAnswer{API: client(t, "us-east-1")}
			a := open(t, bucket, Options{Client: api}) // DefaultLease: no renewal ticks during the test
			hs, err := filesOf(t, a, d).Begin(ctx, intentOf(d), store.Seen{})
			if err != nil {
				t.Fatal(err)
			}
			h := hs.(*held)
			first := readIntent(t, bucket).LeaseUntil
			api.armed.Store(1)
			h.renew(ctx)
			if !readIntent(t, bucket).LeaseUntil.After(first) {
				t.Fatal("the renewal whose answer is lost was not written")
			}
			switch end {
			case "renew, then Keep":
				h.renew(ctx)
			case "another lost, then Done":
				api.armed.Store(1) // a 412, as the first was written: never heard either
				h.renew(ctx)
			}
			if _, err := h.WriteOutfile(ctx, []byte("ct")); err != nil {
				t.Fatalf("WriteOutfile after a renewal whose answer was lost = %v", err)
			}
			if end != "renew, then Keep" {
				if err := h.Done(ctx); err != nil {
					t.Fatalf("Done after a renewal whose answer was lost = %v, want the run's own intent removed", err)
				}
				if _, ok := rawGet(t, bucket, "mfa/out/.erin.png.age.intent"); ok {
					t.Fatal("Done left the run's own intent")
				}
				return
			}
			if err := h.Keep(ctx); err != nil {
				t.Fatal(err)
			}
			if in := readIntent(t, bucket); in.Holder != "" || !in.LeaseUntil.IsZero() {
				t.Fatalf("Keep after a renewal whose answer was lost left the lease held: %+v", in)
			}
		})
	}
}
