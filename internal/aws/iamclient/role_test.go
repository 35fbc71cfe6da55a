package iamclient_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal/localtest"
	"github.com/mfabulk/mfabulk/internal/device"
)

// TestWithRole: a client of a role acts in the role's account; a role STS
// refuses is an error naming it, before any IAM call.
func TestWithRole(t *testing.T) {
	ctx := context.Background()
	role := "arn:aws:iam::111111111111:role/mfabulk"
	srv, url := localtest.Start(t, iamlocal.Options{Roles: []iamlocal.Role{{ARN: role, ExternalID: "x1"}}})
	base, err := iamclient.New(ctx, iamclient.Options{EndpointURL: url})
	if err != nil {
		t.Fatal(err)
	}
	c := base.WithRole(iamclient.Role{ARN: role, ExternalID: "x1", SessionName: "test"})
	if err := c.AssumeRole(ctx); err != nil {
		t.Fatal(err)
	}
	if account, _, err := c.Account(ctx); err != nil || account != "111111111111" {
		t.Errorf("Account() = %s, %v; want 111111111111", account, err)
	}
	if _, err := c.Create(ctx, "alice", "/", nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := srv.Account("111111111111").Device("alice"); !ok || len(srv.Devices()) != 0 {
		t.Errorf("alice is not in the role's account alone")
	}

	before := srv.Account("111111111111").Requests()["ListVirtualMFADevices"]
	bad := base.WithRole(iamclient.Role{ARN: role, ExternalID: "wrong"})
	err = bad.AssumeRole(ctx)
	var apiErr *device.APIError
	if err == nil || !strings.Contains(err.Error(), "assuming role "+role) || !errors.As(err, &apiErr) || apiErr.Code != "AccessDenied" {
		t.Errorf("AssumeRole with a wrong external ID: %v, want AccessDenied naming the role", err)
	}
	if n := srv.Account("111111111111").Requests()["ListVirtualMFADevices"]; n != before {
		t.Errorf("a refused role made IAM calls")
	}
}

// TestWithRoleUnreachable: with a role, AssumeRole is the first call, and
// fails at once on an endpoint nothing listens on, naming it.
func TestWithRoleUnreachable(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	url := "http://" + ln.Addr().String()
	ln.Close()
	localtest.UseEndpoint(t, url)
	base, err := iamclient.New(context.Background(), iamclient.Options{EndpointURL: url})
	if err != nil {
		t.Fatal(err)
	}
	err = base.WithRole(iamclient.Role{ARN: "arn:aws:iam::111111111111:role/x"}).AssumeRole(context.Background())
	var ue *iamclient.UnreachableError
	if !errors.As(err, &ue) {
		t.Errorf("err = %v, want UnreachableError", err)
	}
}
