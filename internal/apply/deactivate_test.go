package apply_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/mfabulk/mfabulk/internal/apply"
	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/plan"
)

// deactivateRefused is IAM refusing DeactivateMFADevice (a role without
// iam:DeactivateMFADevice); every other call goes through.
type deactivateRefused struct{ *iamclient.Client }

func (deactivateRefused) Deactivate(context.Context, string, string) error {
	return errors.New("iam:DeactivateMFADevice: AccessDenied: not authorized")
}

// A lost phone's replace deactivates the old device before deleting it.
// When the deactivate fails, nothing is deleted: the device stays the
// user's, its old outfile is kept aside and the intent stays, so that the
// next plan (with --allow-deactivate) finishes the replace, enabling the
// new device for the user, who then has that one device only.
func TestLostPhoneDeactivateFirst(t *testing.T) {
	srv, client := newAccount(t)
	if err := srv.CreateUser("frank", "/"); err != nil {
		t.Fatal(err)
	}
	id, _ := age.GenerateX25519Identity()
	dir := filepath.Join(t.TempDir(), "out")
	devs := devices(t, dir, id.Recipient().String(), "frank")
	devs[0].User = "frank"
	if res, err := apply.Run(context.Background(), client, observedPlan(t, client, devs, plan.Options{}), apply.Options{}); err != nil || len(res.Failed()) > 0 {
		t.Fatalf("first apply: %v %v", err, res.Failed())
	}
	before, _ := srv.Device("frank")

	p := observedPlan(t, client, devs, plan.Options{Replace: []string{"frank"}, AllowDeactivate: true})
	if c := p.Changes[0]; c.Action != plan.Replace || c.Deactivate != "frank" {
		t.Fatalf("plan: %s (%s), deactivate %q", c.Action, c.Reason, c.Deactivate)
	}
	res, err := apply.Run(context.Background(), deactivateRefused{client}, p, apply.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if o := res.Outcomes[0]; o.Err == nil || !strings.Contains(o.Err.Error(), "deactivating it for user frank") || o.Deactivated != "" {
		t.Errorf("outcome %+v, want the deactivate's error", o)
	}
	if n := srv.Requests()["DeleteVirtualMFADevice"]; n != 0 {
		t.Errorf("%d delete call(s) after a failed deactivate", n)
	}
	if d, _ := srv.Device("frank"); d.User != "frank" || d.Serial != before.Serial {
		t.Errorf("device after a failed deactivate: %+v", d)
	}
	if got := intentID(t, dir, "frank"); got == "(none)" {
		t.Error("the intent was not kept")
	}
	if _, err := os.Stat(devs[0].Outfile); !os.IsNotExist(err) {
		t.Errorf("the old outfile was not moved aside: %v", err)
	}

	// The next run finishes it: the intent names the replace.
	p = observedPlan(t, client, devs, plan.Options{AllowDeactivate: true})
	if c := p.Changes[0]; c.Action != plan.Replace || c.Deactivate != "frank" {
		t.Fatalf("plan after the failed deactivate: %s (%s)", c.Action, c.Reason)
	}
	res, err = apply.Run(context.Background(), client, p, apply.Options{})
	if err != nil || len(res.Failed()) > 0 {
		t.Fatalf("resumed apply: %v %v", err, res.Failed())
	}
	if o := res.Outcomes[0]; o.Deactivated != "frank" || o.Enabled.IsZero() {
		t.Errorf("outcome %+v: want deactivated for and enabled for frank", o)
	}
	after, _ := srv.Device("frank")
	if after.User != "frank" || string(after.Seed) == string(before.Seed) {
		t.Errorf("device after the replace: user %q, new seed %v", after.User, string(after.Seed) != string(before.Seed))
	}
	serials, err := client.UserDevices(context.Background(), "frank")
	if err != nil || len(serials) != 1 || serials[0] != after.Serial {
		t.Errorf("frank's MFA devices: %q %v, want only %s", serials, err, after.Serial)
	}
	if got := intentID(t, dir, "frank"); got != "(none)" {
		t.Errorf("an intent was left: %s", got)
	}
}

// deactivateAnswerLost commits the deactivate, then answers as IAM
// answers the SDK's retry of it: NoSuchEntity, the device no longer being
// the user's.
type deactivateAnswerLost struct{ *iamclient.Client }

func (c deactivateAnswerLost) Deactivate(ctx context.Context, user, serial string) error {
	if err := c.Client.Deactivate(ctx, user, serial); err != nil {
		return err
	}
	return c.Client.Deactivate(ctx, user, serial)
}

// A deactivate whose answer was lost (the retry meets NoSuchEntity) goes
// on: the delete that follows is IAM's own check that nobody has the
// device.
func TestLostPhoneDeactivateAnswerLost(t *testing.T) {
	srv, client := newAccount(t)
	if err := srv.CreateUser("frank", "/"); err != nil {
		t.Fatal(err)
	}
	id, _ := age.GenerateX25519Identity()
	dir := filepath.Join(t.TempDir(), "out")
	devs := devices(t, dir, id.Recipient().String(), "frank")
	devs[0].User = "frank"
	if res, err := apply.Run(context.Background(), client, observedPlan(t, client, devs, plan.Options{}), apply.Options{}); err != nil || len(res.Failed()) > 0 {
		t.Fatalf("first apply: %v %v", err, res.Failed())
	}
	before, _ := srv.Device("frank")
	p := observedPlan(t, client, devs, plan.Options{Replace: []string{"frank"}, AllowDeactivate: true})
	res, err := apply.Run(context.Background(), deactivateAnswerLost{client}, p, apply.Options{})
	if err != nil || len(res.Failed()) > 0 {
		t.Fatalf("apply: %v %v", err, res.Failed())
	}
	if after, _ := srv.Device("frank"); after.User != "frank" || string(after.Seed) == string(before.Seed) {
		t.Errorf("device after the replace: user %q, new seed %v", after.User, string(after.Seed) != string(before.Seed))
	}
}
