package iamlocal_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/totp"
)

// TestResync: ResyncMFADevice takes two consecutive codes of a device
// enabled for the user, within a wider window of the server's time than
// EnableMFADevice's (a drifted device), never codes used before; a device
// not enabled for the user is NoSuchEntity.
func TestResync(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)}
	srv, c := start(t, clk, iamlocal.Options{})
	ctx := context.Background()
	if err := srv.CreateDevice("d", "/"); err != nil {
		t.Fatal(err)
	}
	d, _ := srv.Device("d")
	serial := d.Serial
	resync := func(at time.Time) error {
		c1, c2, err := totp.Pair(d.Seed, at)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ResyncMFADevice(ctx, &iam.ResyncMFADeviceInput{UserName: aws.String("iamlocal"), SerialNumber: aws.String(serial),
			AuthenticationCode1: aws.String(c1), AuthenticationCode2: aws.String(c2)})
		return err
	}
	code := func(err error) string {
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			return apiErr.ErrorCode()
		}
		return ""
	}
	if err := resync(clk.Now()); code(err) != "NoSuchEntity" {
		t.Fatalf("an unassigned device: %v, want NoSuchEntity", err)
	}
	if err := srv.Assign("d", "iamlocal"); err != nil {
		t.Fatal(err)
	}
	// Codes of a phone whose clock runs four minutes slow.
	if err := resync(clk.Now().Add(-4 * time.Minute)); err != nil {
		t.Fatalf("a drifted device: %v", err)
	}
	if err := resync(clk.Now().Add(-4 * time.Minute)); code(err) != "InvalidAuthenticationCode" {
		t.Errorf("the same codes again: %v, want InvalidAuthenticationCode", err)
	}
	if err := resync(clk.Now().Add(-time.Hour)); code(err) != "InvalidAuthenticationCode" {
		t.Errorf("codes an hour old: %v, want InvalidAuthenticationCode", err)
	}
	if err := resync(clk.Now()); err != nil {
		t.Errorf("codes of now: %v", err)
	}
}
