package iamclient_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal/localtest"
	"github.com/mfabulk/mfabulk/internal/device"
)

// newClientWith serves srv on a loopback port and returns a client of it
// with opts (its EndpointURL set to srv's).
func newClientWith(t *testing.T, srv *iamlocal.Server, opts iamclient.Options) *iamclient.Client {
	t.Helper()
	url, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	localtest.UseEndpoint(t, url)
	t.Setenv("AWS_REGION", "") // IAM needs none: us-east-1 is the default
	opts.EndpointURL = url
	c, err := iamclient.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestThrottlingNeverFailsACall: against an account that throttles hard
// (a bucket of one token), calls of a client allowed two attempts all
// succeed: Throttling answers are retried through the pacer, not counted
// as attempts, and there is no client-side retry quota to run out of.
// Every attempt went through the pacer, which saw every Throttling.
func TestThrottlingNeverFailsACall(t *testing.T) {
	srv := iamlocal.New(iamlocal.Options{Faults: iamlocal.Faults{RateLimit: 80, Burst: 1}})
	c := newClientWith(t, srv, iamclient.Options{MaxAttempts: 2, Parallelism: 16})
	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for i := range 60 {
		wg.Go(func() {
			if _, err := c.Create(context.Background(), fmt.Sprintf("d%02d", i), "/", nil); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	throttled := srv.Injected()["Throttling"]
	if throttled == 0 {
		t.Fatal("nothing was throttled: the test tested nothing")
	}
	if got := c.Pace().Throttled; got != throttled {
		t.Errorf("the pacer saw %d Throttling answers, iamlocal sent %d", got, throttled)
	}
	if n := len(srv.Devices()); n != 60 {
		t.Errorf("%d devices, want 60", n)
	}
}

// TestFailuresUseUpTheAttempts: a call that keeps failing (ServiceFailure)
// still stops after MaxAttempts, with the SDK's wording, and a create
// that was sent more than once without an answer may have been
// committed.
func TestFailuresUseUpTheAttempts(t *testing.T) {
	srv := iamlocal.New(iamlocal.Options{Faults: iamlocal.Faults{ServiceFailure: 1}})
	c := newClientWith(t, srv, iamclient.Options{MaxAttempts: 3, MaxBackoff: 10 * time.Millisecond})
	_, err := c.Create(context.Background(), "d", "/", nil)
	if err == nil || !strings.Contains(err.Error(), "exceeded maximum number of attempts, 3") || !errors.Is(err, device.ErrMaybeCommitted) {
		t.Errorf("create: %v", err)
	}
	if n := srv.Requests()["CreateVirtualMFADevice"]; n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
	if s := c.Pace(); s.Throttled != 0 || s.InFlight != 0 {
		t.Errorf("pacer %+v after failures: they say nothing of the rate", s)
	}
}

// TestThrottledCreateIsNotSeedLost: a create throttled first, then
// answered EntityAlreadyExists, met a device someone else made: the
// throttled attempt was refused, so it is not "seed lost".
func TestThrottledCreateIsNotSeedLost(t *testing.T) {
	srv := iamlocal.New(iamlocal.Options{})
	if err := srv.CreateDevice("taken", "/"); err != nil {
		t.Fatal(err)
	}
	c := newClientWith(t, srv, iamclient.Options{})
	srv.SetFaults(iamlocal.Faults{RateLimit: 2, Burst: 1})
	if _, err := c.ListDevices(context.Background()); err != nil { // takes the one token
		t.Fatal(err)
	}
	_, err := c.Create(context.Background(), "taken", "/", nil)
	if srv.Injected()["Throttling"] == 0 {
		t.Skip("the create was not throttled (the machine is slow): nothing to test")
	}
	if device.ErrorCode(err) != "EntityAlreadyExists" || errors.Is(err, device.ErrSeedLost) || errors.Is(err, device.ErrMaybeCommitted) {
		t.Errorf("create: %v; want EntityAlreadyExists, neither seed lost nor maybe committed", err)
	}
}
