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
	// LastAnswer is what the last attempt was answered ("Throttling",
	// "500 Internal Server Error"), or "" if it got no answer: a call
	// can outlast its call timeout while IAM keeps refusing it.
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
//
// It keeps as many idle connections as calls may be in flight
// (parallelism), so that a run at its ceiling reuses its connections
// instead of closing all but the SDK's default 10 after each answer and
// paying a TLS handshake for the next call.
func httpClient(connect, read time.Duration, parallelism int) *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = connect }).
		WithTransportOptions(func(t *http.Transport) {
			t.TLSHandshakeTimeout = connect
			t.MaxIdleConnsPerHost = max(t.MaxIdleConnsPerHost, parallelism)
			t.MaxIdleConns = max(t.MaxIdleConns, 2*parallelism)
		}).
		WithReadTimeout(read)
}

// callState is what the middlewares learn about one call: its attempts
// and the endpoint they went to.
type callState struct {
	attempts atomic.Int32
	failures atomic.Int32 // attempts that failed other than by Throttling (see countFailure)

	mu         sync.Mutex
	endpoint   string
	lastAnswer string
	uncertain  int  // attempts that got no answer, or a server fault: they may have taken effect
	lastWas    bool // the last attempt was one of them
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

// attempted records how an attempt ended: one that IAM refused (a 4xx
// answer, Throttling included) or carried out did nothing it does not
// know; any other may have been committed without an answer.
func (st *callState) attempted(err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.lastWas = err != nil && !isRefusal(err)
	if st.lastWas {
		st.uncertain++
	}
}

// uncertainBefore reports whether an attempt before the last may have
// been committed without the call knowing.
func (st *callState) uncertainBefore() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := st.uncertain
	if st.lastWas {
		n--
	}
	return n > 0
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
// attempts, and those that may have been committed without an answer,
// which tells a seed-lost create from someone else's device (when IAM
// answers EntityAlreadyExists to a create whose earlier attempt got no
// answer, that attempt was committed and its response lost); it counts
// the failed attempts against maxAttempts (countFailure), and notes the
// endpoint each attempt went to, for TimeoutError.
func track(r retryer, maxAttempts int) middleware.FinalizeMiddleware {
	return middleware.FinalizeMiddlewareFunc("mfabulkTrackAttempts",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			ctx, st := withCall(ctx) // bound made it; a state of its own otherwise
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
				// An attempt cut short by the call's end got no answer:
				// the last answer is still the one before it.
				st.setLastAnswer(answer)
			}
			st.attempted(err)
			return out, md, st.countFailure(err, r, maxAttempts)
		})
}

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
