package iamclient_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal/localtest"
)

// deadline bounds a call that, before the timeouts existed, waited for an
// answer forever: the test fails instead of hanging the suite. It asserts
// nothing about how long the call took.
const deadline = 60 * time.Second

// silentEndpoint accepts connections on loopback, reads what the client
// sends and never answers, holding each connection until the test ends.
func silentEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go io.Copy(io.Discard, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// stallingEndpoint answers every request with a 200, its headers and the
// first bytes of a body, then holds the connection without another byte.
func stallingEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		// Answering the instant the body is read races the client's
		// write loop: about 1 run in 30 under -race, the client then
		// closes the connection itself ("use of closed network
		// connection") before the stall. A pause lets it finish writing,
		// so that the test sees the stall every time.
		time.Sleep(50 * time.Millisecond)
		w.Header().Set("Content-Type", "text/xml")
		w.Header().Set("Content-Length", "4096")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<ListVirtualMFADevicesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListVirtualMFADevicesResult>`)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
		panic(http.ErrAbortHandler)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { close(release); srv.Close() })
	return "http://" + ln.Addr().String()
}

func timeoutClient(t *testing.T, url string, opts iamclient.Options) *iamclient.Client {
	t.Helper()
	localtest.UseEndpoint(t, url)
	opts.EndpointURL = url
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 10 * time.Millisecond
	}
	c, err := iamclient.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// within runs call under the test's deadline.
func within(t *testing.T, call func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		return err
	case <-time.After(deadline):
		t.Fatalf("the call did not end within %v: no timeout bounds it", deadline)
		return nil
	}
}

// TestReadTimeoutOnSilentEndpoint: an endpoint that accepts and never
// answers ends the call with a TimeoutError naming the operation, the
// endpoint and the read timeout; --debug logs each attempt as a timeout.
func TestReadTimeoutOnSilentEndpoint(t *testing.T) {
	url := silentEndpoint(t)
	var debug bytes.Buffer
	var mu sync.Mutex
	c := timeoutClient(t, url, iamclient.Options{
		MaxAttempts: 2, ConnectTimeout: time.Second, ReadTimeout: 500 * time.Millisecond, CallTimeout: 30 * time.Second,
		Debug: writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return debug.Write(p) }),
	})
	err := within(t, func() error { _, err := c.ListDevices(context.Background()); return err })
	var te *iamclient.TimeoutError
	if !errors.As(err, &te) || te.Kind != iamclient.ReadTimeout || te.Endpoint != url || te.Attempts != 2 {
		t.Fatalf("err = %v (%#v), want a read timeout from %s after 2 attempts", err, te, url)
	}
	want := "iam:ListVirtualMFADevices: no response from " + url + " within --read-timeout 500ms (2 attempts)"
	if err.Error() != want {
		t.Errorf("error:\n got %s\nwant %s", err, want)
	}
	mu.Lock()
	log := debug.String()
	mu.Unlock()
	if n := strings.Count(log, "mfabulk: debug: IAM:ListVirtualMFADevices: no response (timeout) in "); n != 2 {
		t.Errorf("debug log has %d timeout lines, want 2:\n%s", n, log)
	}
}

// TestReadTimeoutCoversStalledBody: a response that sends its headers and
// part of its body, then holds, times out too.
func TestReadTimeoutCoversStalledBody(t *testing.T) {
	url := stallingEndpoint(t)
	c := timeoutClient(t, url, iamclient.Options{MaxAttempts: 1, ReadTimeout: 500 * time.Millisecond, CallTimeout: 30 * time.Second})
	err := within(t, func() error { _, err := c.ListDevices(context.Background()); return err })
	var te *iamclient.TimeoutError
	if !errors.As(err, &te) || te.Kind != iamclient.ReadTimeout {
		t.Fatalf("err = %v, want a read timeout", err)
	}
	if !strings.Contains(err.Error(), "no response from "+url+" within --read-timeout 500ms") {
		t.Errorf("error: %v", err)
	}
}

// TestCallTimeoutBoundsRetries: however many attempts are allowed, one
// call ends at the call timeout.
func TestCallTimeoutBoundsRetries(t *testing.T) {
	url := silentEndpoint(t)
	c := timeoutClient(t, url, iamclient.Options{MaxAttempts: 1000, ReadTimeout: 200 * time.Millisecond, CallTimeout: 2 * time.Second})
	err := within(t, func() error { _, err := c.ListDevices(context.Background()); return err })
	var te *iamclient.TimeoutError
	if !errors.As(err, &te) || te.Kind != iamclient.CallTimeout || te.Attempts < 2 {
		t.Fatalf("err = %v, want a call timeout after several attempts", err)
	}
	if !strings.HasPrefix(err.Error(), "iam:ListVirtualMFADevices: no response from "+url+" within --call-timeout 2s (") {
		t.Errorf("error: %v", err)
	}
}

// TestFirstCallToASilentEndpoint: the run's first call is not tried
// again after a read timeout: an endpoint that accepts and never answers
// is a wrong one, or IAM is down, and the run ends at the read timeout
// instead of retrying until the call timeout (5 minutes by default).
func TestFirstCallToASilentEndpoint(t *testing.T) {
	url := silentEndpoint(t)
	c := timeoutClient(t, url, iamclient.Options{MaxAttempts: 1000, ReadTimeout: 200 * time.Millisecond, CallTimeout: 20 * time.Second})
	err := within(t, func() error { _, _, err := c.Account(context.Background()); return err })
	var te *iamclient.TimeoutError
	if !errors.As(err, &te) || te.Kind != iamclient.ReadTimeout || te.Attempts != 1 {
		t.Fatalf("err = %v, want a read timeout after one attempt", err)
	}
	if want := "sts:GetCallerIdentity: no response from " + url + " within --read-timeout 200ms"; err.Error() != want {
		t.Errorf("error:\n got %s\nwant %s", err, want)
	}
}

// TestCallTimeoutWhileRefused: a call that IAM keeps refusing with a
// retryable error also ends at the call timeout, and says what the last
// attempt was answered rather than "no response".
func TestCallTimeoutWhileRefused(t *testing.T) {
	srv := iamlocal.New(iamlocal.Options{Faults: iamlocal.Faults{ServiceFailure: 1}})
	url, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c := timeoutClient(t, url, iamclient.Options{MaxAttempts: 1000, CallTimeout: time.Second})
	err = within(t, func() error { _, err := c.ListDevices(context.Background()); return err })
	var te *iamclient.TimeoutError
	if !errors.As(err, &te) || te.Kind != iamclient.CallTimeout || te.LastAnswer != "ServiceFailure" {
		t.Fatalf("err = %v, want a call timeout whose last attempt was answered ServiceFailure", err)
	}
	if !strings.HasPrefix(err.Error(), "iam:ListVirtualMFADevices: no success from "+url+" within --call-timeout 1s (") ||
		!strings.HasSuffix(err.Error(), " attempts, the last answered ServiceFailure)") {
		t.Errorf("error: %v", err)
	}
}

// TestCallTimeoutCutsAnAttempt: the call timeout usually lands inside an
// attempt, not between two (CI under load saw it); the attempt it cuts
// short has no answer, and must not erase the answers before it.
func TestCallTimeoutCutsAnAttempt(t *testing.T) {
	srv := iamlocal.New(iamlocal.Options{Faults: iamlocal.Faults{ServiceFailure: 1, Latency: 400 * time.Millisecond}})
	url, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c := timeoutClient(t, url, iamclient.Options{MaxAttempts: 1000, CallTimeout: time.Second})
	err = within(t, func() error { _, err := c.ListDevices(context.Background()); return err })
	var te *iamclient.TimeoutError
	if !errors.As(err, &te) || te.Kind != iamclient.CallTimeout || te.LastAnswer != "ServiceFailure" {
		t.Fatalf("err = %v, want a call timeout whose last answer was ServiceFailure", err)
	}
}

// TestCancelIsNotATimeout: a caller's cancellation (Ctrl-C) stays a
// cancellation, not a timeout.
func TestCancelIsNotATimeout(t *testing.T) {
	url := silentEndpoint(t)
	c := timeoutClient(t, url, iamclient.Options{CallTimeout: 30 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	err := within(t, func() error { _, err := c.ListDevices(ctx); return err })
	var te *iamclient.TimeoutError
	if errors.As(err, &te) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled and no TimeoutError", err)
	}
}

func TestNegativeTimeoutIsRefused(t *testing.T) {
	for _, o := range []iamclient.Options{{ConnectTimeout: -1}, {ReadTimeout: -time.Second}, {CallTimeout: -time.Minute}} {
		if _, err := iamclient.New(context.Background(), o); err == nil || !strings.Contains(err.Error(), "must be positive") {
			t.Errorf("New(%+v) = %v, want an error", o, err)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
