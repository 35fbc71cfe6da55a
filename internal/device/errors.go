package device

import "errors"

// The conditions below are how a client of IAM tells its callers what an
// error means for a device, without them knowing the client: match them
// with errors.Is, or read them with [ErrorCode] and [Refused].

// ErrSeedLost is wrapped by a create's error when IAM answered
// EntityAlreadyExists to a retried create: the device was created by an
// earlier attempt of the same call, whose response (and seed) was lost.
var ErrSeedLost = errors.New("an earlier attempt of this create was committed and its response lost")

// ErrMaybeCommitted is wrapped by a create's error when the create had to
// be sent more than once and the last attempt was refused: an earlier
// attempt (a 500, a dropped connection, a timeout) may have been committed
// all the same, so the device may exist with its seed lost.
var ErrMaybeCommitted = errors.New("an earlier attempt of this create may have been committed")

// APIError is an error IAM answered, or an answer that refused a call. It
// adds to the error it wraps what callers act on; its text is the wrapped
// error's.
type APIError struct {
	// Code is the AWS error code ("EntityAlreadyExists", "Throttling", …),
	// or "" when the answer was not in IAM's terms.
	Code string
	// Refused is set when IAM answered with a 4xx status: the call
	// changed nothing.
	Refused bool
	Err     error
}

func (e *APIError) Error() string { return e.Err.Error() }

// Unwrap returns the error that IAM's answer was read into.
func (e *APIError) Unwrap() error { return e.Err }

// ErrorCode returns the AWS error code of the [APIError] inside err, or ""
// when there is none.
func ErrorCode(err error) string {
	var e *APIError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Refused reports whether err holds IAM's answer refusing a call (an
// [APIError] with Refused set), so that nothing changed. Network errors,
// cancelled calls and server faults are not refusals: the call may have
// taken effect.
func Refused(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Refused
}
