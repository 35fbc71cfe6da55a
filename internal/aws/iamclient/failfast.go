package iamclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// UnreachableError is the first call's error when the endpoint cannot be
// reached at all: nothing listens there, its name does not resolve, or it
// does not speak TLS as the URL says. Retrying cannot fix that, so the
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
	case errors.As(err, &unknownCA), errors.As(err, &hostname):
		return "its TLS certificate is not trusted (a TLS-intercepting proxy needs --ca-bundle)"
	}
	return ""
}

// failFast is a retryer that does not retry an unreachable endpoint.
type failFast struct{ aws.Retryer }

func (f failFast) IsErrorRetryable(err error) bool {
	return unreachable(err) == "" && f.Retryer.IsErrorRetryable(err)
}

// callerIdentity is sts:GetCallerIdentity, the call every command makes
// first: it fails fast on an endpoint it cannot reach, naming it.
func (c *Client) callerIdentity(ctx context.Context) (*sts.GetCallerIdentityOutput, error) {
	ctx, call := withCall(ctx)
	out, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, firstCall)
	if err != nil {
		endpoint, _ := call.get()
		return nil, fmt.Errorf("sts:GetCallerIdentity: %w", reachable(classify(plain(err)), endpoint))
	}
	return out, nil
}

// firstCall makes the caller-identity call fail fast on an endpoint it
// cannot reach.
func firstCall(o *sts.Options) {
	if o.Retryer != nil {
		o.Retryer = failFast{o.Retryer}
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
