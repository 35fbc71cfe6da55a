package s3store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mfabulk/mfabulk/internal/journal"
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

// lostPut is S3 that loses its answer to the nth PutObject of key: the
// object is written, the caller hears a timeout.
type lostPut struct {
	API
	key string
	n   int
	mu  sync.Mutex
}

func (l *lostPut) PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	out, err := l.API.PutObject(ctx, in, opts...)
	l.mu.Lock()
	defer l.mu.Unlock()
	if aws.ToString(in.Key) == l.key {
		if l.n--; l.n == 0 && err == nil {
			return nil, fmt.Errorf("put %s: %w", l.key, context.DeadlineExceeded)
		}
	}
	return out, err
}

// A renewal whose answer was lost did renew: the holder's next renewal
// finds its own write there, not another run's, and goes on holding the
// intent; Keep then releases it for the next run at once.
func TestLostRenewalAnswerKeepsTheLease(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	d := device(bucket, "erin")
	// Renewed every second: long enough that a loaded machine's late
	// renewal does not run the lease out before the write.
	const lease = 3 * time.Second
	api := &lostPut{API: client(t, "us-east-1"), key: "mfa/out/.erin.png.age.intent", n: 2}
	a := open(t, bucket, Options{Client: api, Lease: lease})
	h, err := filesOf(t, a, d).Begin(ctx, intentOf(d), store.Seen{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(lease)
	if _, err := h.WriteOutfile(ctx, []byte("ct")); err != nil {
		t.Fatalf("WriteOutfile after a renewal's lost answer = %v", err)
	}
	if err := h.Keep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, state := seenBy(t, open(t, bucket, Options{Lease: lease}), d); state != journal.Pending {
		t.Fatalf("plan after Keep: %v, want Pending", state)
	}
}

// slowFailedPut is lostPut whose next put of key after the lost one
// answers its failed condition only when the call's time is all but
// spent, as a loaded endpoint does.
type slowFailedPut struct {
	lostPut
	slow bool
}

func (s *slowFailedPut) PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	out, err := s.lostPut.PutObject(ctx, in, opts...)
	s.mu.Lock()
	slow := s.slow && aws.ToString(in.Key) == s.key && isPreconditionFailed(err)
	if slow {
		s.slow = false
	}
	if aws.ToString(in.Key) == s.key && s.n == 0 && err != nil && !isPreconditionFailed(err) {
		s.slow = true // the lost answer: the next failed condition is slow
	}
	s.mu.Unlock()
	if deadline, ok := ctx.Deadline(); ok && slow {
		time.Sleep(time.Until(deadline))
	}
	return out, err
}

// A renewal that meets the earlier, lost renewal's write with its time
// all but spent still tells its own write from another run's: reading
// the intent to tell is given time of its own. On the renewal's
// context, the read failed and the run took its own write for another
// run's takeover ("the lease ... was lost"), as in make test's store
// fault storm on a loaded machine.
func TestSlowFailedRenewalStillAdopts(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	d := device(bucket, "erin")
	const lease = 3 * time.Second
	api := &slowFailedPut{lostPut: lostPut{API: client(t, "us-east-1"), key: "mfa/out/.erin.png.age.intent", n: 2}}
	a := open(t, bucket, Options{Client: api, Lease: lease})
	h, err := filesOf(t, a, d).Begin(ctx, intentOf(d), store.Seen{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(lease + lease/3) // the lost renewal, then the slow one
	if _, err := h.WriteOutfile(ctx, []byte("ct")); err != nil {
		t.Fatalf("WriteOutfile after a slow renewal = %v", err)
	}
	if err := h.Done(ctx); err != nil {
		t.Fatal(err)
	}
}
