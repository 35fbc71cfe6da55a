package iamclient

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go/middleware"

	"github.com/mfabulk/mfabulk/internal/aws/pace"
)

// DefaultParallelism is the most IAM calls in flight at once: the ceiling
// of the pacer's adaptive limit (--parallelism). Calls in flight are the
// account's rate times IAM's latency (Little's law): 64 covers 200 calls
// a second at 300 ms, more than IAM allows one account, from the far side
// of the world; below the ceiling the pacer, not this number, sets the
// pace. A call in flight costs a goroutine and a kept-alive connection.
const DefaultParallelism = 64

// pacing is a Finalize middleware inside the SDK's retry loop, so that
// every attempt of every IAM call, retries of throttled calls included,
// takes a slot and a token from the run's [pace.Controller] before it is
// signed and sent, and reports how it ended: retries are paced with the
// rest, with no thundering herd after a burst of Throttling.
func pacing(c *pace.Controller) middleware.FinalizeMiddleware {
	return middleware.FinalizeMiddlewareFunc("mfabulkPace",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			release, err := c.Acquire(ctx)
			if err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
			out, md, err := next.HandleFinalize(ctx, in)
			release(outcome(err))
			return out, md, err
		})
}

// outcome is what an attempt's error says of the account's rate: an
// answer from IAM, even a refusal such as EntityAlreadyExists, is OK;
// Throttling is Throttled; no answer, or a server fault, says nothing.
func outcome(err error) pace.Outcome {
	switch {
	case err == nil:
		return pace.OK
	case isThrottle(err):
		return pace.Throttled
	case isRefusal(err):
		return pace.OK
	}
	return pace.Failed
}

var throttles = retry.IsErrorThrottles(retry.DefaultThrottles)

// isThrottle reports whether err is IAM's (or STS's) "slow down":
// Throttling, RequestLimitExceeded, an HTTP 429, ….
func isThrottle(err error) bool {
	return throttles.IsErrorThrottle(err).Bool()
}

// retryer is the SDK's standard retryer (jittered exponential backoff,
// ConcurrentModification and ServiceFailure retried too) with two
// changes, so that throttling never fails a device:
//
//   - no client-side retry quota (ratelimit.None): the SDK's default
//     token bucket is shared by every goroutine of a client and, under a
//     burst of errors from many concurrent calls, fails calls with "retry
//     quota exceeded" instead of backing off;
//   - Throttling answers do not count as attempts: a throttled call is
//     retried, at once, through the pacer (which has just slowed down),
//     until the call timeout; the attempts (AWS_MAX_ATTEMPTS, 10) bound
//     the calls that fail for other reasons (5xx, no answer), counted per
//     call by track, which turns the last one into a MaxAttemptsError.
type retryer struct {
	aws.RetryerV2
}

func newRetryer(maxBackoff time.Duration) retryer {
	if maxBackoff == 0 {
		maxBackoff = 20 * time.Second
	}
	return retryer{retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 0 // see MaxAttempts
		o.MaxBackoff = maxBackoff
		o.Backoff = retry.NewExponentialJitterBackoff(maxBackoff)
		o.RateLimiter = ratelimit.None
		o.Retryables = append(o.Retryables, retry.RetryableErrorCode{
			Codes: map[string]struct{}{"ConcurrentModification": {}, "ServiceFailure": {}, "EntityTemporarilyUnmodifiable": {}},
		})
	})}
}

// MaxAttempts is 0, no limit, for the SDK's retry loop: track counts the
// attempts that failed, and the call timeout bounds the rest.
func (retryer) MaxAttempts() int { return 0 }

// IsErrorRetryable retries Throttling always, never an action the
// endpoint does not implement (unimplemented), and other errors as the
// standard retryer does until they used up the attempts.
func (r retryer) IsErrorRetryable(err error) bool {
	var exhausted *retry.MaxAttemptsError
	if errors.As(err, &exhausted) || unimplemented(err) {
		return false
	}
	return isThrottle(err) || r.RetryerV2.IsErrorRetryable(err)
}

// RetryDelay is none for Throttling (the pacer makes the retry wait for
// its turn), and the standard backoff, by the number of failed attempts,
// for other errors.
func (r retryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	if isThrottle(err) {
		return 0, nil
	}
	var f *failedAttempt
	if errors.As(err, &f) {
		attempt = f.n
	}
	return r.RetryerV2.RetryDelay(attempt, err)
}

// failedAttempt is the error of a call's nth failed attempt (not counting
// Throttling), so that the backoff grows with failures only.
type failedAttempt struct {
	n   int
	err error
}

func (f *failedAttempt) Error() string { return f.err.Error() }
func (f *failedAttempt) Unwrap() error { return f.err }

// countFailure counts a failed attempt of the call whose state is st: an
// error the standard retryer would retry, other than Throttling. At the
// last allowed one it returns a MaxAttemptsError, which is not retried,
// worded as the SDK words it.
func (st *callState) countFailure(err error, r retryer, maxAttempts int) error {
	if err == nil || isThrottle(err) || unimplemented(err) || !r.RetryerV2.IsErrorRetryable(err) {
		return err
	}
	n := int(st.failures.Add(1))
	if n >= maxAttempts {
		return &retry.MaxAttemptsError{Attempt: n, Err: err}
	}
	return &failedAttempt{n: n, err: err}
}

// PaceStats are the pacer's state, for a progress line: the calls in
// flight, the calls started in the last second, the rate the pacer allows
// (+Inf when it does not pace) and the Throttling answers so far.
type PaceStats = pace.Stats

// Pace returns the state of the client's pacer.
func (c *Client) Pace() PaceStats { return c.pace.Stats() }
