package iamclient

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// Resync resynchronises the MFA device serial, enabled for user, with two
// consecutive codes of its seed (IAM's ResyncMFADevice): for a device
// whose codes IAM no longer accepts at sign-in because they drifted.
func (c *Client) Resync(ctx context.Context, user, serial, code1, code2 string) error {
	_, err := c.iam.ResyncMFADevice(ctx, &iam.ResyncMFADeviceInput{
		UserName: aws.String(user), SerialNumber: aws.String(serial),
		AuthenticationCode1: aws.String(code1), AuthenticationCode2: aws.String(code2),
	})
	if err != nil {
		return fmt.Errorf("iam:ResyncMFADevice: %w", classify(plain(err)))
	}
	return nil
}
