package iamclient

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// User is an IAM user as a listing names it.
type User struct {
	Name string
	Path string
}

// UsersUnder returns the IAM users whose path begins with pathPrefix ("" is
// every user), following ListUsers' pages to the end.
func (c *Client) UsersUnder(ctx context.Context, pathPrefix string) ([]User, error) {
	in := &iam.ListUsersInput{MaxItems: aws.Int32(1000)}
	if pathPrefix != "" {
		in.PathPrefix = aws.String(pathPrefix)
	}
	var out []User
	p := iam.NewListUsersPaginator(c.iam, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("iam:ListUsers: %w", classify(plain(err)))
		}
		for _, u := range page.Users {
			out = append(out, User{Name: aws.ToString(u.UserName), Path: aws.ToString(u.Path)})
		}
	}
	return out, nil
}

// GroupUsers returns the members of the IAM group, following GetGroup's
// pages to the end.
func (c *Client) GroupUsers(ctx context.Context, group string) ([]User, error) {
	var out []User
	p := iam.NewGetGroupPaginator(c.iam, &iam.GetGroupInput{GroupName: aws.String(group), MaxItems: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("iam:GetGroup: %w", classify(plain(err)))
		}
		for _, u := range page.Users {
			out = append(out, User{Name: aws.ToString(u.UserName), Path: aws.ToString(u.Path)})
		}
	}
	return out, nil
}

// UsersWithVirtualMFA returns the names of the users that the account's
// assigned virtual MFA devices belong to: one paginated read of
// ListVirtualMFADevices (AssignmentStatus Assigned) for the whole account.
// Hardware and FIDO devices are not among them; see [Client.UserDevices].
func (c *Client) UsersWithVirtualMFA(ctx context.Context) ([]string, error) {
	var out []string
	p := iam.NewListVirtualMFADevicesPaginator(c.iam, &iam.ListVirtualMFADevicesInput{
		AssignmentStatus: types.AssignmentStatusTypeAssigned,
		MaxItems:         aws.Int32(1000),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("iam:ListVirtualMFADevices: %w", classify(plain(err)))
		}
		for _, d := range page.VirtualMFADevices {
			if d.User != nil && d.User.UserName != nil {
				out = append(out, aws.ToString(d.User.UserName))
			}
		}
	}
	return out, nil
}
