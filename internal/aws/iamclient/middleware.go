package iamclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// The debug log sits inside the SDK's retry loop, so it sees every
// attempt of a call.

// debugLog writes one line an attempt: operation, status, AWS error code,
// request ID and duration. It never logs headers (a session token is a
// credential) nor bodies (a create's response holds the seed).
func debugLog(w io.Writer) middleware.FinalizeMiddleware {
	return middleware.FinalizeMiddlewareFunc("mfabulkDebugLog",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			start := time.Now()
			out, md, err := next.HandleFinalize(ctx, in)
			status := "no response"
			if raw, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response); ok && raw.StatusCode != 0 {
				status = raw.Status
			}
			line := fmt.Sprintf("mfabulk: debug: %s:%s: %s", middleware.GetServiceID(ctx), middleware.GetOperationName(ctx), status)
			if code := ErrorCode(err); code != "" {
				line += " " + code
			} else if err != nil {
				line += " (" + transportError(err) + ")"
			}
			if id, ok := awsmiddleware.GetRequestIDMetadata(md); ok {
				line += " request-id=" + id
			}
			fmt.Fprintf(w, "%s in %v\n", line, time.Since(start).Round(time.Millisecond))
			return out, md, err
		})
}

// transportError names a failure that did not come from AWS, without its
// text, which can quote the request.
func transportError(err error) string {
	var t interface{ Timeout() bool }
	if errors.As(err, &t) && t.Timeout() {
		return "timeout"
	}
	return fmt.Sprintf("%T", err)
}

func addMiddleware(debug io.Writer, t timeouts, r retryer, maxAttempts int, callTimeout bool) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		if callTimeout {
			if err := stack.Initialize.Add(bound(t.connect, t.read, t.call), middleware.Before); err != nil {
				return err
			}
		}
		// Last, so that it sees the endpoint the attempt is sent to.
		if err := stack.Finalize.Add(track(r, maxAttempts), middleware.After); err != nil {
			return err
		}
		if debug == nil {
			return nil
		}
		return stack.Finalize.Insert(debugLog(debug), "Retry", middleware.After)
	}
}
