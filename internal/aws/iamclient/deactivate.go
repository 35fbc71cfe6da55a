package iamclient

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// Deactivate takes the MFA device serial away from user (IAM's
// DeactivateMFADevice), which IAM requires before it deletes a device
// that is enabled: the first step of replacing a lost phone or pruning a
// leaver's device. IAM answers NoSuchEntity when the device is not
// enabled for that user, as a retried call whose first attempt was
// committed meets; the caller decides what that means.
func (c *Client) Deactivate(ctx context.Context, user, serial string) error {
	_, err := c.iam.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{UserName: aws.String(user), SerialNumber: aws.String(serial)})
	if err != nil {
		return fmt.Errorf("iam:DeactivateMFADevice: %w", classify(plain(err)))
	}
	return nil
}
