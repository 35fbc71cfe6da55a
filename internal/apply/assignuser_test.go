package apply_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/mfabulk/mfabulk/internal/apply"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/plan"
)

// Assign re-issues a device's secret: it moves the outfile aside and
// deletes the device before creating it again and enabling it. When the
// user was deleted, or reached IAM's limit of MFA devices, between plan
// and apply, the enable cannot succeed: apply must find that out before
// anything is moved or deleted, so the device and its outfile stay as
// they were and the journal is untouched.
func TestAssignChecksTheUserBeforeDeleting(t *testing.T) {
	for name, since := range map[string]func(*iamlocal.Server) error{
		"user deleted": func(srv *iamlocal.Server) error { return srv.DeleteUser("frank") },
		"user at the limit": func(srv *iamlocal.Server) error {
			for i := range iamlocal.MaxMFADevicesPerUser {
				if err := srv.AddHardwareMFA("frank", fmt.Sprintf("GAHT%08d", i)); err != nil {
					return err
				}
			}
			return nil
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv, client := newAccount(t)
			if err := srv.CreateUser("frank", "/"); err != nil {
				t.Fatal(err)
			}
			id, _ := age.GenerateX25519Identity()
			dir := filepath.Join(t.TempDir(), "out")
			devs := devices(t, dir, id.Recipient().String(), "frank")
			if res, err := apply.Run(context.Background(), client, observedPlan(t, client, devs, plan.Options{}), apply.Options{}); err != nil || len(res.Failed()) > 0 {
				t.Fatalf("first apply: %v %v", err, res.Failed())
			}
			before, _ := srv.Device("frank")
			outfile, _ := os.ReadFile(devs[0].Outfile)

			devs[0].User = "frank"
			p := observedPlan(t, client, devs, plan.Options{})
			if c := p.Changes[0]; c.Action != plan.Assign {
				t.Fatalf("plan: %s (%s), want assign", c.Action, c.Reason)
			}
			if err := since(srv); err != nil {
				t.Fatal(err)
			}
			mutations := srv.Requests()["DeleteVirtualMFADevice"] + srv.Requests()["CreateVirtualMFADevice"]
			res, err := apply.Run(context.Background(), client, p, apply.Options{})
			if err != nil {
				t.Fatal(err)
			}
			o := res.Outcomes[0]
			if o.Err == nil || !strings.Contains(o.Err.Error(), "frank") {
				t.Errorf("outcome %+v, want an error naming user frank", o)
			}
			if n := srv.Requests()["DeleteVirtualMFADevice"] + srv.Requests()["CreateVirtualMFADevice"] - mutations; n != 0 {
				t.Errorf("%d delete or create call(s): the device was spent on an enable that cannot succeed", n)
			}
			if after, ok := srv.Device("frank"); !ok || after.Serial != before.Serial || string(after.Seed) != string(before.Seed) {
				t.Errorf("the device was replaced")
			}
			if got, err := os.ReadFile(devs[0].Outfile); err != nil || string(got) != string(outfile) {
				t.Errorf("the outfile was moved or changed: %v", err)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "*replaced*")); len(left) > 0 {
				t.Errorf("moved aside: %v", left)
			}
			if got := intentID(t, dir, "frank"); got != "(none)" {
				t.Errorf("an intent was left: %s", got)
			}
		})
	}
}
