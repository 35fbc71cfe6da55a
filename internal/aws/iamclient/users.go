package iamclient

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// Enable assigns the virtual MFA device serial to user with two
// consecutive codes (IAM's EnableMFADevice). A retried call that meets
// EntityAlreadyExists, because an earlier attempt was committed and its
// answer lost, counts as done when the device is now that user's.
func (c *Client) Enable(ctx context.Context, user, serial, code1, code2 string) error {
	ctx, call := withCall(ctx)
	_, err := c.iam.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{
		UserName: aws.String(user), SerialNumber: aws.String(serial),
		AuthenticationCode1: aws.String(code1), AuthenticationCode2: aws.String(code2),
	})
	if err == nil {
		return nil
	}
	var exists *types.EntityAlreadyExistsException
	if errors.As(err, &exists) && call.uncertainBefore() {
		serials, lerr := c.UserDevices(ctx, user)
		if lerr == nil && containsFold(serials, serial) {
			return nil
		}
	}
	return fmt.Errorf("iam:EnableMFADevice: %w", classify(plain(err)))
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// UserDevices returns the serial numbers of the MFA devices assigned to
// user (IAM's ListMFADevices), virtual or not.
func (c *Client) UserDevices(ctx context.Context, user string) ([]string, error) {
	var out []string
	p := iam.NewListMFADevicesPaginator(c.iam, &iam.ListMFADevicesInput{UserName: aws.String(user)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("iam:ListMFADevices: %w", classify(plain(err)))
		}
		for _, d := range page.MFADevices {
			out = append(out, aws.ToString(d.SerialNumber))
		}
	}
	return out, nil
}

// ListUsers returns the names of the account's IAM users, following IAM's
// pages to the end: one paginated read, not one call per user.
func (c *Client) ListUsers(ctx context.Context) ([]string, error) {
	users, err := c.UsersUnder(ctx, "")
	if err != nil {
		return nil, err
	}
	names := make([]string, len(users))
	for i, u := range users {
		names[i] = u.Name
	}
	return names, nil
}

// CallerUser returns the caller's account and IAM user name, from STS; an
// error when the caller is not an IAM user (an assumed role, root).
func (c *Client) CallerUser(ctx context.Context) (account, user string, err error) {
	out, err := c.callerIdentity(ctx)
	if err != nil {
		return "", "", err
	}
	arn := aws.ToString(out.Arn)
	_, res, ok := strings.Cut(arn, ":user/")
	if !ok {
		return "", "", fmt.Errorf("the caller %s is not an IAM user", arn)
	}
	return aws.ToString(out.Account), res[strings.LastIndex(res, "/")+1:], nil
}
