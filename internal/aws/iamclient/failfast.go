package iamclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// UnreachableError is the first call's error when the endpoint cannot be
// reached at all: nothing listens there, its name does not resolve, it
// does not speak TLS as the URL says, or it does not speak HTTP. Retrying cannot fix that, so the
// first call (sts:GetCallerIdentity) fails at once, naming the endpoint,
// instead of retrying ten times with backoff for minutes.
type UnreachableError struct {
	Endpoint string
	Reason   string
	Err      error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach %s: %s", e.Endpoint, e.Reason)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// unreachable tells why err means the endpoint cannot be reached, or "".
func unreachable(err error) string {
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var header tls.RecordHeaderError
	switch {
	case errors.As(err, &dns) && dns.IsNotFound:
		// Only a name that does not exist: a resolver that timed out or
		// failed for now is retried like any transient fault.
		return "its host name does not resolve (" + dns.Name + ")"
	case isConnRefused(err):
		return "nothing is listening there (connection refused)"
	case errors.As(err, &header), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		// net/http turns the TLS record error into a plain error with this
		// text, which is its only trace.
		return "it does not speak TLS (is the URL http:// rather than https://?)"
	case strings.Contains(err.Error(), "malformed HTTP response"), strings.Contains(err.Error(), "malformed HTTP status code"),
		strings.Contains(err.Error(), "malformed HTTP version"):
		// net/http's only trace of an answer that is not HTTP at all: a
		// port of another service (sshd, a database, SMTP).
		return "it does not speak HTTP (is it the port of another service?)"
	case errors.As(err, &unknownCA), errors.As(err, &hostname):
		return "its TLS certificate is not trusted (a TLS-intercepting proxy needs --ca-bundle)"
	}
	return ""
}

// closedAttempts is how many attempts of a run's first call an endpoint
// may close without an answer before it is taken for a wrong one: IAM,
// or a proxy on the way, may drop a connection now and then, but not
// three times in one call.
const closedAttempts = 3

// closedWithoutAnswer reports whether err is a request the endpoint
// closed or reset the connection of before it answered: a send error (no
// response at all), not an answer cut short in its body, nor a credential
// source's fault.
func closedWithoutAnswer(err error) bool {
	var send *smithyhttp.RequestSendError
	if !errors.As(err, &send) {
		return false
	}
	return isConnReset(err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		// net/http's errors for a kept-alive connection found closed,
		// and for one on which the endpoint spoke before it was asked
		// (an SSH server's greeting), unexported: their text is their
		// only trace.
		strings.Contains(err.Error(), "server closed idle connection") || strings.Contains(err.Error(), "readLoopPeekFailLocked")
}

// dialTimeout reports whether err is a connection not made within the
// connect timeout; not a resolver's timeout, which a dial reports the
// same way and which is transient.
func dialTimeout(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) && op.Op == "dial" && op.Timeout() && !errors.As(err, &dns)
}

// failFast is the first call's retryer: it does not retry an unreachable
// endpoint; one that closes the connection without an answer gets
// closedAttempts attempts (a few seconds), not ten with backoff (two
// minutes); one that did not connect within the connect timeout (a
// filtered address), or accepted the connection and said nothing for the
// read timeout, is not tried again: a wrong endpoint, or IAM down, which
// the next run will try again.
type failFast struct {
	aws.Retryer
	closed atomic.Int32
}

func (f *failFast) IsErrorRetryable(err error) bool {
	var rte *awshttp.ResponseTimeoutError
	switch {
	case unreachable(err) != "", errors.As(err, &rte), dialTimeout(err):
		return false
	case closedWithoutAnswer(err):
		return f.closed.Add(1) < closedAttempts && f.Retryer.IsErrorRetryable(err)
	}
	return f.Retryer.IsErrorRetryable(err)
}

// RetryDelay waits half a second between the attempts of an endpoint
// that closed the connection: the SDK's backoff (up to 20 s) would make
// the three attempts last as long as the ten they replace.
func (f *failFast) RetryDelay(attempt int, err error) (time.Duration, error) {
	if closedWithoutAnswer(err) {
		return 500 * time.Millisecond, nil
	}
	return f.Retryer.RetryDelay(attempt, err)
}

// callerIdentity is sts:GetCallerIdentity, the call every command makes
// first: it fails fast on an endpoint it cannot reach, naming it.
func (c *Client) callerIdentity(ctx context.Context) (*sts.GetCallerIdentityOutput, error) {
	ctx, call := withCall(ctx)
	out, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, firstCall)
	if err != nil {
		endpoint, _ := call.get()
		err = classify(plain(err))
		if closedWithoutAnswer(err) && endpoint != "" {
			err = &UnreachableError{Endpoint: endpoint, Err: err,
				Reason: fmt.Sprintf("it closed the connection without an answer (%d attempts; is it the port of another service, a proxy that refuses it, or a network fault of the moment? try again)", call.attempts.Load())}
		}
		return nil, fmt.Errorf("sts:GetCallerIdentity: %w", reachable(err, endpoint))
	}
	return out, nil
}

// firstCall makes the caller-identity call fail fast on an endpoint it
// cannot reach.
func firstCall(o *sts.Options) {
	if o.Retryer != nil {
		o.Retryer = &failFast{Retryer: o.Retryer}
	}
}

// reachable turns an unreachable endpoint's error into an UnreachableError
// naming it.
func reachable(err error, endpoint string) error {
	if why := unreachable(err); why != "" {
		return &UnreachableError{Endpoint: endpoint, Reason: why, Err: err}
	}
	return err
}
