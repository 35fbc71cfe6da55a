package iamclient

import (
	"context"
	"sync/atomic"

	"github.com/aws/smithy-go/middleware"
)

// Attempts tell a seed-lost create from someone else's device: when IAM
// answers EntityAlreadyExists to a create that the SDK had to send more
// than once, the earlier attempt was committed and its response lost.

type attemptsKey struct{}

// countAttempts is a finalize middleware placed inside the retry loop, so
// it runs once per attempt of a call.
var countAttempts = middleware.FinalizeMiddlewareFunc("mfabulkCountAttempts",
	func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		if n, ok := ctx.Value(attemptsKey{}).(*atomic.Int32); ok {
			n.Add(1)
		}
		return next.HandleFinalize(ctx, in)
	})

func addAttemptCounter(stack *middleware.Stack) error {
	return stack.Finalize.Insert(countAttempts, "Retry", middleware.After)
}

// withAttempts returns a context whose calls count their attempts into n.
func withAttempts(ctx context.Context, n *atomic.Int32) context.Context {
	return context.WithValue(ctx, attemptsKey{}, n)
}
