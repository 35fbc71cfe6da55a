package iamclient_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/device"
)

func newClient(t *testing.T, srv *iamlocal.Server) *iamclient.Client {
	t.Helper()
	return newClientWith(t, srv, iamclient.Options{MaxAttempts: 2})
}

// TestListFollowsEveryPage lists more devices than one page of 1000 holds.
func TestListFollowsEveryPage(t *testing.T) {
	srv := iamlocal.New(iamlocal.Options{})
	for i := range 2345 {
		if err := srv.CreateDevice(fmt.Sprintf("d%04d", i), "/p/"); err != nil {
			t.Fatal(err)
		}
	}
	c := newClient(t, srv)
	got, err := c.ListDevices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2345 || got[0].Name != "d0000" || got[0].Path != "/p/" {
		t.Fatalf("listed %d devices, first %+v", len(got), got[0])
	}
	// Three pages of at most 1000; under load the SDK may retry one.
	if n := srv.Requests()["ListVirtualMFADevices"]; n < 3 || n > 4 {
		t.Errorf("%d list calls, want 3 pages of at most 1000", n)
	}
}

// TestErrorsAreTyped checks iamlocal's error XML reaches callers as the
// SDK's typed errors, which is how mfabulk classifies them.
func TestErrorsAreTyped(t *testing.T) {
	srv := iamlocal.New(iamlocal.Options{})
	c := newClient(t, srv)
	ctx := context.Background()
	created, err := c.Create(ctx, "alice", "/", map[string]string{"team": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if len(created.Base32StringSeed) != 64 || len(created.QRCodePNG) == 0 {
		t.Fatalf("create returned seed of %d bytes and %d bytes of PNG", len(created.Base32StringSeed), len(created.QRCodePNG))
	}
	_, err = c.Create(ctx, "ALICE", "/", nil)
	var exists *types.EntityAlreadyExistsException
	if !errors.As(err, &exists) || iamclient.ErrorCode(err) != "EntityAlreadyExists" {
		t.Errorf("duplicate name (other case): %v", err)
	}
	// Consumers read the same facts through internal/device, without
	// knowing the SDK.
	if device.ErrorCode(err) != "EntityAlreadyExists" || !device.Refused(err) || errors.Is(err, device.ErrSeedLost) {
		t.Errorf("duplicate name, as device sees it: code %q, refused %v: %v", device.ErrorCode(err), device.Refused(err), err)
	}
	_, err = c.Create(ctx, "bad name", "/", nil)
	if iamclient.ErrorCode(err) != "ValidationError" {
		t.Errorf("bad name: %v", err)
	}
	_, err = c.Create(ctx, "b", "/", map[string]string{"aws:x": "y"})
	var invalid *types.InvalidInputException
	if !errors.As(err, &invalid) {
		t.Errorf("aws: tag: %v", err)
	}
	err = c.Delete(ctx, "arn:aws:iam::123456789012:mfa/nobody")
	var missing *types.NoSuchEntityException
	if !errors.As(err, &missing) || device.ErrorCode(err) != "NoSuchEntity" {
		t.Errorf("delete of a missing device: %v", err)
	}
	if err := c.Delete(ctx, created.Serial); err != nil {
		t.Errorf("delete: %v", err)
	}
	account, partition, err := c.Account(ctx)
	if err != nil || account != "123456789012" || partition != "aws" {
		t.Errorf("Account = %q, %q, %v", account, partition, err)
	}
}

func TestOverlongNameIsAValidationError(t *testing.T) {
	c := newClient(t, iamlocal.New(iamlocal.Options{}))
	_, err := c.Create(context.Background(), strings.Repeat("a", 227), "/", nil)
	if iamclient.ErrorCode(err) != "ValidationError" {
		t.Errorf("227-character name: %v", err)
	}
}
