package apply_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/mfabulk/mfabulk/internal/apply"
	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/refresh"
)

// observedPlan plans devs as the command does: refresh reads the account
// (through the real client, over HTTP) and the outfile folders' journal.
func observedPlan(t *testing.T, client *iamclient.Client, devs []manifest.Device, opts plan.Options) plan.Plan {
	t.Helper()
	obs, err := refresh.Observe(context.Background(), client, &manifest.Manifest{Devices: devs}, refresh.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Compute(devs, obs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// plantIntent writes, as an earlier or concurrent run would have left it,
// the intent of device name's outfile in dir naming createID.
func plantIntent(t *testing.T, account, dir, name, action, createID string) {
	t.Helper()
	plantProvenIntent(t, account, dir, name, action, createID, "")
}

// plantProvenIntent is plantIntent with the create ID's proof, as the run
// that made the create ID writes it.
func plantProvenIntent(t *testing.T, account, dir, name, action, createID, proof string) {
	t.Helper()
	in := journal.Intent{Device: name, Path: "/", Account: account, Outfile: filepath.Join(dir, name+".txt.age"),
		Action: action, CreateID: createID, Proof: proof, Started: time.Now().UTC(), PID: 1}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, journal.Name(name+".txt.age")), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func intentID(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, journal.Name(name+".txt.age")))
	if os.IsNotExist(err) {
		return "(none)"
	}
	if err != nil {
		t.Fatal(err)
	}
	var in journal.Intent
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatal(err)
	}
	return in.CreateID
}

// The other run's create ID, with its proof.
var otherProof = strings.Repeat("b", 64)
var otherID = journal.CreateIDOf(otherProof)

// An intent is taken over only while it is still the one the plan saw.
// Between plan and apply (the confirmation prompt, or a saved plan's
// review) another run may take the intent over for a create of its own and
// be killed: its intent then names the create ID of a device whose seed
// may be lost, and is the only evidence of it. Apply must refuse the
// device, writing nothing, and leave that intent for the next plan.
func TestTakeOverOnlyTheIntentThePlanSaw(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before func(t *testing.T, srv *iamlocal.Server, account, dir string) // the state plan sees
		want   plan.Action
		after  func(t *testing.T, srv *iamlocal.Server, account, dir string) // another run, between plan and apply
	}{
		{
			// An earlier run wrote the outfile and was killed before its
			// record: plan settles it on its create ID. Another run
			// then replaced the device (a new create ID) and was
			// killed in turn before its own record.
			name: "settle",
			before: func(t *testing.T, srv *iamlocal.Server, account, dir string) {
				id, proof := journal.NewCreateID()
				if err := srv.CreateDevice("a", "/", iamlocal.Tag{Key: device.CreateIDTag, Value: id}); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "a.txt.age"), []byte("ciphertext"), 0o600); err != nil {
					t.Fatal(err)
				}
				plantProvenIntent(t, account, dir, "a", "create", id, proof)
			},
			want: plan.Settle,
			after: func(t *testing.T, srv *iamlocal.Server, account, dir string) {
				if err := srv.SetTags("a", iamlocal.Tag{Key: device.CreateIDTag, Value: otherID}); err != nil {
					t.Fatal(err)
				}
				plantProvenIntent(t, account, dir, "a", "replace", otherID, otherProof)
			},
		},
		{
			// Nothing of device a at plan time; then another run began
			// its create and was killed after IAM committed it.
			name:   "create",
			before: func(*testing.T, *iamlocal.Server, string, string) {},
			want:   plan.Create,
			after: func(t *testing.T, srv *iamlocal.Server, account, dir string) {
				if err := srv.CreateDevice("a", "/", iamlocal.Tag{Key: device.CreateIDTag, Value: otherID}); err != nil {
					t.Fatal(err)
				}
				plantProvenIntent(t, account, dir, "a", "create", otherID, otherProof)
			},
		},
		{
			// An earlier run's create of a (create ID "aaaa") was never
			// committed, and the device was deleted meanwhile: plan
			// creates it, taking the intent over. Another run took it
			// over first and was killed after its create was committed.
			name: "create over a pending intent",
			before: func(t *testing.T, srv *iamlocal.Server, account, dir string) {
				plantIntent(t, account, dir, "a", "create", "aaaa")
			},
			want: plan.Create,
			after: func(t *testing.T, srv *iamlocal.Server, account, dir string) {
				if err := srv.CreateDevice("a", "/", iamlocal.Tag{Key: device.CreateIDTag, Value: otherID}); err != nil {
					t.Fatal(err)
				}
				plantProvenIntent(t, account, dir, "a", "create", otherID, otherProof)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, client := newAccount(t)
			account, _, err := client.Account(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			id, _ := age.GenerateX25519Identity()
			dir := filepath.Join(t.TempDir(), "out")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			devs := devices(t, dir, id.Recipient().String(), "a")
			tc.before(t, srv, account, dir)
			p := observedPlan(t, client, devs, plan.Options{})
			if got := p.Changes[0].Action; got != tc.want {
				t.Fatalf("plan: %s (%s), want %s", got, p.Changes[0].Reason, tc.want)
			}
			tc.after(t, srv, account, dir)
			creates := srv.Requests()["CreateVirtualMFADevice"]

			res, err := apply.Run(context.Background(), client, p, apply.Options{})
			if err != nil {
				t.Fatal(err)
			}
			o := res.Outcomes[0]
			if o.Err == nil || !strings.Contains(o.Err.Error(), "changed since plan") {
				t.Errorf("apply took over another run's intent: outcome %+v, want a refusal", o)
			}
			if got := intentID(t, dir, "a"); got != otherID {
				t.Errorf("the other run's intent (create ID %s) now names %s", otherID, got)
			}
			if _, err := os.Lstat(filepath.Join(dir, journal.RecordName("a.txt.age"))); !os.IsNotExist(err) {
				t.Errorf("a record was written: %v", err)
			}
			if n := srv.Requests()["CreateVirtualMFADevice"] - creates; n != 0 {
				t.Errorf("%d create call(s) after the refusal", n)
			}
			// The next plan sees the other run's intent.
			if next := observedPlan(t, client, devs, plan.Options{}); next.Changes[0].Action == plan.Unchanged {
				t.Errorf("next plan: unchanged; the other run's device is not flagged")
			}
		})
	}
}
