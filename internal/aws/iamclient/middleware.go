package iamclient

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Both middlewares sit inside the SDK's retry loop, so they see every
// attempt of a call.

type attemptsKey struct{}

// countAttempts tells a seed-lost create from someone else's device: when
// IAM answers EntityAlreadyExists to a create that the SDK had to send
// more than once, the earlier attempt was committed and its response lost.
var countAttempts = middleware.FinalizeMiddlewareFunc("mfabulkCountAttempts",
	func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		if n, ok := ctx.Value(attemptsKey{}).(*atomic.Int32); ok {
			n.Add(1)
		}
		return next.HandleFinalize(ctx, in)
	})

// withAttempts returns a context whose calls count their attempts into n.
func withAttempts(ctx context.Context, n *atomic.Int32) context.Context {
	return context.WithValue(ctx, attemptsKey{}, n)
}

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
	if _, ok := err.(interface{ Timeout() bool }); ok {
		return "timeout"
	}
	return fmt.Sprintf("%T", err)
}

func addMiddleware(debug io.Writer) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		if err := stack.Finalize.Insert(countAttempts, "Retry", middleware.After); err != nil {
			return err
		}
		if debug == nil {
			return nil
		}
		return stack.Finalize.Insert(debugLog(debug), "Retry", middleware.After)
	}
}
