package iamclient

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/mfabulk/mfabulk/internal/aws/pace"
)

// Role is a role to assume to reach another account.
type Role struct {
	ARN         string
	ExternalID  string        // "" when the trust policy asks for none
	SessionName string        // "" means "mfabulk"
	Duration    time.Duration // 0 means STS's default, one hour
}

// DefaultSessionName names mfabulk's role sessions in CloudTrail.
const DefaultSessionName = "mfabulk"

// WithRole returns a client of its own for the role's account, sharing
// c's settings (endpoint, retries, timeouts, debug log). Its credentials
// come from STS AssumeRole, called with c's credentials, and are cached
// and renewed shortly before they expire (aws.NewCredentialsCache), so a
// run longer than the role's duration keeps going. No call is made until
// the client is first used; [Client.AssumeRole] makes the first.
func (c *Client) WithRole(r Role) *Client {
	cfg := c.cfg.Copy()
	provider := stscreds.NewAssumeRoleProvider(assumeFast{c.sts}, r.ARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = r.SessionName
		if o.RoleSessionName == "" {
			o.RoleSessionName = DefaultSessionName
		}
		if r.ExternalID != "" {
			o.ExternalID = aws.String(r.ExternalID)
		}
		if r.Duration > 0 {
			o.Duration = r.Duration
		}
	})
	cfg.Credentials = aws.NewCredentialsCache(provider)
	// A pacer of its own: the role's account has its own IAM limits.
	pc := pace.New(c.paceOpts)
	return &Client{iam: pacedIAM(cfg, pc), sts: sts.NewFromConfig(cfg), cfg: cfg, role: r.ARN, pace: pc, paceOpts: c.paceOpts}
}

// AssumeRole gets the client's first credentials, so that a role STS
// refuses is an error naming the role before any IAM call; for a client
// without a role it does nothing.
func (c *Client) AssumeRole(ctx context.Context) error {
	if c.role == "" {
		return nil
	}
	ctx, call := withCall(ctx)
	if _, err := c.cfg.Credentials.Retrieve(ctx); err != nil {
		endpoint, _ := call.get()
		return fmt.Errorf("assuming role %s: %w", c.role, reachable(classify(plain(err)), endpoint))
	}
	return nil
}

// assumeFast is sts:AssumeRole failing fast, as the first call does, on
// an endpoint that cannot be reached: with a role, it is the first call.
type assumeFast struct{ c *sts.Client }

func (a assumeFast) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	return a.c.AssumeRole(ctx, in, append(optFns, firstCall)...)
}
