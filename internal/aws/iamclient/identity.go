package iamclient

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Identity is who the client acts as, and how it got there.
type Identity struct {
	Account string
	ARN     string
	UserID  string
	Region  string
	// Endpoint is the endpoint URL given (--endpoint-url, AWS_ENDPOINT_URL…);
	// "" for AWS's own.
	Endpoint string
	// CredentialSource names the SDK's provider that gave the credentials
	// (aws.Credentials.Source: "EnvConfigCredentials", "SharedConfigCredentials",
	// "SSOProvider", "EC2RoleProvider", …).
	CredentialSource string
}

// Identity asks STS who the caller is.
func (c *Client) Identity(ctx context.Context) (Identity, error) {
	id := Identity{Region: c.cfg.Region, Endpoint: aws.ToString(c.cfg.BaseEndpoint)}
	if c.cfg.Credentials != nil {
		creds, err := c.cfg.Credentials.Retrieve(ctx)
		if err != nil {
			return Identity{}, fmt.Errorf("getting credentials: %w", plain(err))
		}
		id.CredentialSource = creds.Source
	}
	out, err := c.callerIdentity(ctx)
	if err != nil {
		return Identity{}, err
	}
	id.Account, id.ARN, id.UserID = aws.ToString(out.Account), aws.ToString(out.Arn), aws.ToString(out.UserId)
	return id, nil
}
