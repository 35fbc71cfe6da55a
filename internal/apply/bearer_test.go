package apply_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/mfabulk/mfabulk/internal/apply"
	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/plan"
)

// The create ID a device is tagged with is public: anyone allowed to read
// the device's tags (iam:ListMFADeviceTags) reads it. It must not work as
// a bearer token: a record or an intent naming it, made or copied into
// another checkout, must not let that checkout prove the device its own
// and assign or replace (delete) it. Folder A made device frank; checkout
// B holds evidence of every forgeable kind and manifests frank for user
// frank, or asks for nothing special: no plan of B deletes frank.
func TestCreateIDIsNoBearerToken(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, a, b string, live string, account string)
	}{
		{"record naming the live create ID beside any outfile", func(t *testing.T, a, b, live, account string) {
			writeFile(t, filepath.Join(b, "frank.txt.age"), []byte("not the seed"))
			rec, _ := json.Marshal(journal.Record{Account: account, Device: "frank", Path: "/", Serial: "arn:aws:iam::" + account + ":mfa/frank", CreateID: live, Created: time.Now()})
			writeFile(t, filepath.Join(b, journal.RecordName("frank.txt.age")), rec)
		}},
		{"A's record copied beside another outfile", func(t *testing.T, a, b, live, account string) {
			writeFile(t, filepath.Join(b, "frank.txt.age"), []byte("not the seed"))
			rec, err := os.ReadFile(filepath.Join(a, journal.RecordName("frank.txt.age")))
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(b, journal.RecordName("frank.txt.age")), rec)
		}},
		{"intent naming the live create ID (seed lost)", func(t *testing.T, a, b, live, account string) {
			plantIntent(t, account, b, "frank", "create", live)
		}},
		{"intent resuming a replace of the live create ID", func(t *testing.T, a, b, live, account string) {
			in, _ := json.Marshal(journal.Intent{Device: "frank", Path: "/", Account: account, Action: "replace",
				CreateID: "0123456789abcdef0123456789abcdef", Replaces: live, Started: time.Now(), PID: 1})
			writeFile(t, filepath.Join(b, journal.Name("frank.txt.age")), in)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, client := newAccount(t)
			account, _, err := client.Account(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if err := srv.CreateUser("frank", "/"); err != nil {
				t.Fatal(err)
			}
			id, _ := age.GenerateX25519Identity()
			a := filepath.Join(t.TempDir(), "out")
			devsA := devices(t, a, id.Recipient().String(), "frank")
			if res, err := apply.Run(context.Background(), client, observedPlan(t, client, devsA, plan.Options{}), apply.Options{}); err != nil || len(res.Failed()) > 0 {
				t.Fatalf("apply in A: %v %v", err, res.Failed())
			}
			before, _ := srv.Device("frank")
			tags, err := client.ListTags(context.Background(), before.Serial)
			if err != nil {
				t.Fatal(err)
			}
			b := filepath.Join(t.TempDir(), "out")
			if err := os.Mkdir(b, 0o700); err != nil {
				t.Fatal(err)
			}
			tc.plant(t, a, b, tags[device.CreateIDTag], account)

			devsB := devices(t, b, id.Recipient().String(), "frank")
			devsB[0].User = "frank"
			p := observedPlan(t, client, devsB, plan.Options{})
			c := p.Changes[0]
			if c.Action == plan.Assign || c.Action == plan.Replace || c.Action == plan.Settle {
				t.Errorf("checkout B plans %s for A's device frank: %s", c.Action, c.Reason)
			}
			if _, err := apply.Run(context.Background(), client, p, apply.Options{}); err != nil {
				t.Logf("apply in B: %v", err)
			}
			if n := srv.Requests()["DeleteVirtualMFADevice"]; n != 0 {
				t.Errorf("checkout B deleted A's device frank (%d delete calls)", n)
			}
			if after, ok := srv.Device("frank"); !ok || string(after.Seed) != string(before.Seed) {
				t.Errorf("A's device frank was replaced")
			}
		})
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
