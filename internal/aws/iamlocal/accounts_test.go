package iamlocal_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	url_ "net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal/localtest"
)

// assumed returns the real SDK's IAM and STS clients acting through role
// (with externalID, if given), assumed with stscreds from the base
// credentials, the way mfabulk assumes a role per account.
func assumed(t *testing.T, url, role, externalID string) (*iam.Client, *sts.Client) {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithBaseEndpoint(url))
	if err != nil {
		t.Fatal(err)
	}
	base := sts.NewFromConfig(cfg)
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(base, role, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = "mfabulk-test"
		if externalID != "" {
			o.ExternalID = aws.String(externalID)
		}
	}))
	return iam.NewFromConfig(cfg), sts.NewFromConfig(cfg)
}

// TestAssumeRoleAccounts: credentials from AssumeRole act in the role's
// account, each with its own devices; the base credentials stay in the
// server's own account; GetCallerIdentity reports the assumed role.
func TestAssumeRoleAccounts(t *testing.T) {
	ctx := context.Background()
	roleA, roleB := "arn:aws:iam::111111111111:role/mfabulk", "arn:aws:iam::222222222222:role/ops/mfabulk"
	srv, url := localtest.Start(t, iamlocal.Options{Roles: []iamlocal.Role{{ARN: roleA}, {ARN: roleB, ExternalID: "xyz"}}})

	iamA, stsA := assumed(t, url, roleA, "")
	iamB, stsB := assumed(t, url, roleB, "xyz")
	for c, name := range map[*iam.Client]string{iamA: "alice", iamB: "bob"} {
		if _, err := c.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String(name)}); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	for c, want := range map[*sts.Client]string{stsA: "arn:aws:sts::111111111111:assumed-role/mfabulk/mfabulk-test", stsB: "arn:aws:sts::222222222222:assumed-role/mfabulk/mfabulk-test"} {
		id, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(id.Arn) != want || aws.ToString(id.Account) != want[13:25] {
			t.Errorf("GetCallerIdentity = %s in %s, want %s", aws.ToString(id.Arn), aws.ToString(id.Account), want)
		}
	}
	out, err := iamA.ListVirtualMFADevices(ctx, &iam.ListVirtualMFADevicesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.VirtualMFADevices) != 1 || aws.ToString(out.VirtualMFADevices[0].SerialNumber) != "arn:aws:iam::111111111111:mfa/alice" {
		t.Errorf("account A lists %+v, want only alice", out.VirtualMFADevices)
	}
	if _, ok := srv.Account("222222222222").Device("bob"); !ok {
		t.Error("bob is not in account B")
	}
	if _, ok := srv.Account("111111111111").Device("bob"); ok {
		t.Error("bob is in account A too")
	}
	if n := len(srv.Devices()); n != 0 {
		t.Errorf("the base account holds %d devices, want 0", n)
	}
	if got := srv.Accounts(); len(got) != 3 {
		t.Errorf("Accounts() = %v, want the base and two roles' accounts", got)
	}
}

// TestAssumeRoleRefused: an unknown role, and a role assumed without its
// external ID or with another, get AccessDenied as from STS.
func TestAssumeRoleRefused(t *testing.T) {
	role := "arn:aws:iam::111111111111:role/mfabulk"
	_, url := localtest.Start(t, iamlocal.Options{Roles: []iamlocal.Role{{ARN: role, ExternalID: "xyz"}}})
	for _, c := range []struct{ role, externalID string }{
		{"arn:aws:iam::333333333333:role/mfabulk", ""}, {role, ""}, {role, "abc"},
	} {
		_, s := assumed(t, url, c.role, c.externalID)
		_, err := s.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
			t.Errorf("%s with external ID %q: err = %v, want AccessDenied", c.role, c.externalID, err)
		}
	}
}

// TestAssumedRoles: the server counts the AssumeRole calls it granted, by
// role ARN, and not the ones it refused, so a test can tell which roles a
// run reached its accounts through.
func TestAssumedRoles(t *testing.T) {
	ctx := context.Background()
	role := "arn:aws:iam::111111111111:role/mfabulk-plan"
	srv, url := localtest.Start(t, iamlocal.Options{Roles: []iamlocal.Role{{ARN: role}}})
	for _, r := range []string{role, role, "arn:aws:iam::111111111111:role/mfabulk"} {
		_, s := assumed(t, url, r, "")
		_, _ = s.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	}
	got := srv.AssumedRoles()
	if len(got) != 1 || got[role] != 2 {
		t.Errorf("AssumedRoles() = %v, want %s twice and nothing else", got, role)
	}
}

// TestAnyRole: with AnyRole every role is accepted, its account made on
// first use, each account with its own quota.
func TestAnyRole(t *testing.T) {
	ctx := context.Background()
	srv, url := localtest.Start(t, iamlocal.Options{AnyRole: true, MaxDevices: 1})
	for _, acct := range []string{"444444444444", "555555555555"} {
		c, _ := assumed(t, url, "arn:aws:iam::"+acct+":role/x", "")
		if _, err := c.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("d")}); err != nil {
			t.Fatalf("%s: %v", acct, err)
		}
		_, err := c.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("e")})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "LimitExceeded" {
			t.Errorf("%s: second device: err = %v, want LimitExceeded", acct, err)
		}
		if n := len(srv.Account(acct).Devices()); n != 1 {
			t.Errorf("%s holds %d devices, want 1", acct, n)
		}
	}
}

// TestAssumeRoleNotIAMRateLimited: AssumeRole is STS's, whose limits are
// not IAM's: a base account throttled at 1 request a second still lets
// 50 accounts assume their roles at once (a run over 50 accounts failed
// one account's AssumeRole after 10 throttled attempts before).
func TestAssumeRoleNotIAMRateLimited(t *testing.T) {
	_, url := localtest.Start(t, iamlocal.Options{AnyRole: true, Faults: iamlocal.Faults{RateLimit: 1, Burst: 1}})
	for i := range 50 {
		form := url_.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleSessionName": {"s1"},
			"RoleArn": {fmt.Sprintf("arn:aws:iam::%012d:role/x", 100000000000+i)}}
		resp, err := http.PostForm(url, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("AssumeRole %d: %s", i, resp.Status)
		}
	}
}
