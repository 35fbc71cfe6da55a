package iamclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Default timeouts. The connect timeout is a few seconds: a TCP and TLS
// handshake with IAM takes milliseconds, so an endpoint that has not
// answered a SYN in 10s is down or filtered. The read timeout is the AWS
// CLI's 60s: IAM answers in well under a second, but a read timeout on a
// create leaves the outcome unknown (the device may be committed), so it
// must not fire on a merely slow answer. The call timeout bounds one call
// with all its retries and backoff: without it, 10 attempts that each wait
// out the read timeout, plus backoff, hold a device for over 13 minutes;
// 5 minutes still leaves room for several full read timeouts or minutes
// of throttling backoff, yet ends a cron run against a dead endpoint in
// bounded time.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultReadTimeout    = 60 * time.Second
	DefaultCallTimeout    = 5 * time.Minute
)

// TimeoutKind names which bound a call ran into.
type TimeoutKind int

// The timeouts, as mfabulk's flags name them.
const (
	ConnectTimeout TimeoutKind = iota // no connection within the connect timeout
	ReadTimeout                       // a connection went silent for the read timeout
	CallTimeout                       // the call, retries included, outlasted the call timeout
)

// Flag is the mfabulk flag that sets the timeout: the AWS CLI's
// --cli-connect-timeout and --cli-read-timeout without "cli-", plus
// --call-timeout.
func (k TimeoutKind) Flag() string {
	switch k {
	case ConnectTimeout:
		return "--connect-timeout"
	case ReadTimeout:
		return "--read-timeout"
	default:
		return "--call-timeout"
	}
}

// TimeoutError is a call that ended because an endpoint did not connect or
// answer in time. It names the endpoint and the bound, never the request
// or the response, which can hold a credential or a seed. For a call that
// changes something, the change may have been committed.
type TimeoutError struct {
	Kind     TimeoutKind
	Limit    time.Duration
	Endpoint string // scheme://host[:port], or "" if no attempt reached the wire
	Attempts int
	// LastAnswer is the last answer an attempt got ("Throttling",
	// "500 Internal Server Error"), or "" if none was answered: a call
	// can outlast its call timeout while IAM keeps refusing it. An
	// attempt that the call timeout cut short does not count: it would
	// hide the answers that made the call retry until then.
	LastAnswer string
	Err        error // the SDK's error, for errors.Is/As
}

func (e *TimeoutError) Error() string {
	endpoint := e.Endpoint
	if endpoint == "" {
		endpoint = "the endpoint"
	}
	what := "no response from " + endpoint
	switch {
	case e.Kind == ConnectTimeout:
		what = "could not connect to " + endpoint
	case e.LastAnswer != "":
		what = "no success from " + endpoint
	}
	msg := fmt.Sprintf("%s within %s %v", what, e.Kind.Flag(), e.Limit)
	switch {
	case e.LastAnswer != "":
		msg += fmt.Sprintf(" (%d attempts, the last answered %s)", e.Attempts, e.LastAnswer)
	case e.Attempts > 1:
		msg += fmt.Sprintf(" (%d attempts)", e.Attempts)
	}
	return msg
}

func (e *TimeoutError) Unwrap() error { return e.Err }

// httpClient is the SDK's own buildable HTTP client with mfabulk's
// connect and read timeouts. The read timeout is the SDK's rolling
// inactivity window on the connection (WithReadTimeout): it covers the
// wait for the response headers and every read of the body, so a response
// that sends its headers and then stalls fails too, while a slow but
// progressing answer does not.
func httpClient(connect, read time.Duration) *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = connect }).
		WithTransportOptions(func(t *http.Transport) { t.TLSHandshakeTimeout = connect }).
		WithReadTimeout(read)
}

// callState is what the middlewares learn about one call: its attempts
// and the endpoint they went to.
type callState struct {
	attempts   atomic.Int32
	mu         sync.Mutex
	endpoint   string
	lastAnswer string
}

type callStateKey struct{}

// withCall returns a context whose call records its attempts in the
// returned state.
func withCall(ctx context.Context) (context.Context, *callState) {
	if st, ok := ctx.Value(callStateKey{}).(*callState); ok {
		return ctx, st
	}
	st := &callState{}
	return context.WithValue(ctx, callStateKey{}, st), st
}

func (st *callState) setEndpoint(e string) {
	st.mu.Lock()
	st.endpoint = e
	st.mu.Unlock()
}

func (st *callState) setLastAnswer(a string) {
	st.mu.Lock()
	st.lastAnswer = a
	st.mu.Unlock()
}

func (st *callState) get() (endpoint, lastAnswer string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.endpoint, st.lastAnswer
}

// errCallTimeout is the cause of a call's own deadline, telling it from a
// deadline or cancellation of the caller's context.
var errCallTimeout = errors.New("call timeout")

// bound is an Initialize middleware, so outside the retry loop: it gives
// each call (every attempt and backoff) the call timeout, and turns a
// timed-out call's error into a [TimeoutError].
func bound(connect, read, call time.Duration) middleware.InitializeMiddleware {
	return middleware.InitializeMiddlewareFunc("mfabulkTimeouts",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			parent := ctx
			ctx, st := withCall(ctx)
			ctx, cancel := context.WithTimeoutCause(ctx, call, errCallTimeout)
			defer cancel()
			out, md, err := next.HandleInitialize(ctx, in)
			if err == nil || parent.Err() != nil {
				return out, md, err // a cancelled caller is not a timeout
			}
			endpoint, last := st.get()
			te := &TimeoutError{Endpoint: endpoint, Attempts: int(st.attempts.Load()), Err: err}
			var rte *awshttp.ResponseTimeoutError
			var op *net.OpError
			switch {
			case context.Cause(ctx) == errCallTimeout:
				te.Kind, te.Limit, te.LastAnswer = CallTimeout, call, last
			case errors.As(err, &rte):
				te.Kind, te.Limit = ReadTimeout, read
			case errors.As(err, &op) && op.Op == "dial" && op.Timeout():
				te.Kind, te.Limit = ConnectTimeout, connect
			default:
				return out, md, err
			}
			return out, md, te
		})
}

// track is a Finalize middleware inside the retry loop: it counts a call's
// attempts, which tells a seed-lost create from someone else's device
// (when IAM answers EntityAlreadyExists to a create that the SDK had to
// send more than once, the earlier attempt was committed and its response
// lost), and notes the endpoint each attempt went to, for TimeoutError.
var track = middleware.FinalizeMiddlewareFunc("mfabulkTrackAttempts",
	func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		st, ok := ctx.Value(callStateKey{}).(*callState)
		if !ok {
			return next.HandleFinalize(ctx, in)
		}
		st.attempts.Add(1)
		if req, ok := in.Request.(*smithyhttp.Request); ok && req.URL != nil {
			st.setEndpoint(req.URL.Scheme + "://" + req.URL.Host)
		}
		out, md, err := next.HandleFinalize(ctx, in)
		answer := ErrorCode(err)
		if raw, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response); ok && answer == "" && raw.StatusCode != 0 {
			answer = raw.Status
		}
		if answer != "" || ctx.Err() == nil {
			st.setLastAnswer(answer)
		}
		return out, md, err
	})

// plain returns a TimeoutError inside err without the SDK's wrapping
// ("operation error IAM: …, exceeded maximum number of attempts, …"),
// whose facts it already states; an empty credential chain as
// [ErrNoCredentials]; an answer that is not IAM's as a [NotIAMError]; any
// other error as it is.
func plain(err error) error {
	var te *TimeoutError
	if errors.As(err, &te) {
		return te
	}
	if e := noCredentials(err); e != nil {
		return e
	}
	if e := notIAM(err); e != nil {
		return e
	}
	return err
}
