package iamclient

import (
	"context"
	"errors"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
)

// ListTagsOnce reads a device's tags with a single attempt, to find out
// quickly whether the endpoint supports ListMFADeviceTags at all (some
// IAM emulators answer it with an HTML error page, which the SDK would
// otherwise retry ten times).
func (c *Client) ListTagsOnce(ctx context.Context, serial string) (map[string]string, error) {
	return c.listTags(ctx, serial, func(o *iam.Options) { o.RetryMaxAttempts = 1 })
}

// TagsUnsupported reports whether err means the endpoint does not speak
// ListMFADeviceTags: it answered, but not with an AWS error (an HTML page,
// an unknown action), as opposed to a throttle or a fault it would answer
// in IAM's own terms.
func TagsUnsupported(err error) bool {
	var notIAM *NotIAMError
	if errors.As(err, &notIAM) {
		return true
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "InvalidAction", "NotImplemented", "UnknownOperationException":
			return true
		}
		return false
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re)
}
