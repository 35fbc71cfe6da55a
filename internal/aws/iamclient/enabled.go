package iamclient

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// EnabledFor reports whether the MFA device serial is enabled for user,
// and since when, from IAM's ListMFADevices of that user: the call AWS's
// self-service MFA policy lets a person make on their own user, so that
// enroll can tell a device already enabled for them before it asks IAM
// to enable it again (which IAM refuses with EntityAlreadyExists).
func (c *Client) EnabledFor(ctx context.Context, user, serial string) (since time.Time, enabled bool, err error) {
	p := iam.NewListMFADevicesPaginator(c.iam, &iam.ListMFADevicesInput{UserName: aws.String(user)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("iam:ListMFADevices: %w", classify(plain(err)))
		}
		for _, d := range page.MFADevices {
			if strings.EqualFold(aws.ToString(d.SerialNumber), serial) {
				return aws.ToTime(d.EnableDate), true, nil
			}
		}
	}
	return time.Time{}, false, nil
}
