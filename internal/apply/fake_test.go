package apply_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/mfabulk/mfabulk/internal/apply"
	"github.com/mfabulk/mfabulk/internal/apply/applytest"
	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/seal"
)

// These tests drive apply's decisions against applytest.Fake, in memory;
// apply_test.go proves the same paths over HTTP against iamlocal.

// fakeRun applies a plan creating names in a fresh outfile folder.
func fakeRun(t *testing.T, api apply.API, opts apply.Options, names ...string) (apply.Result, string, *age.X25519Identity) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	p := mustPlan(t, devices(t, dir, id.Recipient().String(), names...))
	res, err := apply.Run(context.Background(), api, p, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outcomes) != len(names) {
		t.Fatalf("%d outcomes, want %d", len(res.Outcomes), len(names))
	}
	return res, dir, id
}

// intentLeft reports whether device name's intent is still in dir.
func intentLeft(t *testing.T, dir, name string) bool {
	t.Helper()
	_, err := os.Lstat(filepath.Join(dir, "."+name+".txt.age.intent"))
	return err == nil
}

// checkSealed checks the outfile holds the seed the fake issued to the
// device now in the account.
func checkSealed(t *testing.T, fake *applytest.Fake, o apply.Outcome, id age.Identity) {
	t.Helper()
	ct, err := os.ReadFile(o.Outfile)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := seal.Decrypt(ct, []age.Identity{id})
	d, ok := fake.Device(o.Device)
	if err != nil || !ok || string(pt) != string(d.Seed) || d.Serial != o.Serial {
		t.Errorf("%s: outfile does not hold the seed of the device in the account (%v)", o.Device, err)
	}
}

// TestFakeLostResponseOfOurCreateIsRecreated: the first attempt of a
// create was committed and its response lost; the retry met
// EntityAlreadyExists. The device carries this run's create ID, so it is
// ours: apply deletes it and creates it again, and seals the new seed.
func TestFakeLostResponseOfOurCreateIsRecreated(t *testing.T) {
	fake := applytest.New()
	fake.Fail("Create", applytest.Fault{Commit: true, Err: applytest.SeedLost()})
	res, dir, id := fakeRun(t, fake, apply.Options{}, "a")
	o := res.Outcomes[0]
	if o.Err != nil || o.SeedLost {
		t.Fatalf("outcome: %+v", o)
	}
	checkSealed(t, fake, o, id)
	if d, _ := fake.Device("a"); d.Tags[device.CreateIDTag] == "" {
		t.Error("the recreated device has no create ID")
	}
	if c, l, d := fake.Calls("Create"), fake.Calls("ListTags"), fake.Calls("Delete"); c != 2 || l != 1 || d != 1 {
		t.Errorf("%d creates, %d tag reads, %d deletes; want 2, 1, 1", c, l, d)
	}
	if intentLeft(t, dir, "a") {
		t.Error("intent left after a settled create")
	}
}

// TestFakeLostResponseOfForeignCreateIsLeftAlone: the retry met a device
// of the same name with another create ID: someone else made it after
// this call's first attempt failed. It is not ours to delete.
func TestFakeLostResponseOfForeignCreateIsLeftAlone(t *testing.T) {
	fake := applytest.New()
	theirs := fake.Put("a", "/", map[string]string{device.CreateIDTag: "someone-else"})
	fake.Fail("Create", applytest.Fault{Err: applytest.SeedLost()})
	res, dir, _ := fakeRun(t, fake, apply.Options{}, "a")
	o := res.Outcomes[0]
	if o.Err == nil || !strings.Contains(o.Err.Error(), "created by another run or person") || o.SeedLost || o.RolledBack {
		t.Fatalf("outcome: %+v", o)
	}
	if n := fake.Calls("Delete"); n != 0 {
		t.Errorf("%d deletes of a device that is not ours", n)
	}
	if d, ok := fake.Device("a"); !ok || d.Serial != theirs.Serial || string(d.Seed) != string(theirs.Seed) {
		t.Error("the other party's device was changed")
	}
	if _, err := os.Lstat(o.Outfile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("outfile written for a device that is not ours: %v", err)
	}
	if intentLeft(t, dir, "a") {
		t.Error("intent kept, though nothing of ours exists")
	}
}

// TestFakeRollbackWhenOutfileWriteFails: a file takes the outfile's name
// between the create and the write; mfabulk never overwrites, so the
// write fails and the device is deleted again.
func TestFakeRollbackWhenOutfileWriteFails(t *testing.T) {
	fake := applytest.New()
	var outfile string
	fake.OnCreated = func(string) {
		if err := os.WriteFile(outfile, []byte("not ours"), 0o600); err != nil {
			t.Error(err)
		}
	}
	id, _ := age.GenerateX25519Identity()
	dir := filepath.Join(t.TempDir(), "out")
	p := mustPlan(t, devices(t, dir, id.Recipient().String(), "a"))
	outfile = p.Changes[0].Desired.Outfile
	res, err := apply.Run(context.Background(), fake, p, apply.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := res.Outcomes[0]
	if !o.RolledBack || o.SeedLost || o.CiphertextSHA256 != "" || !strings.Contains(o.Err.Error(), "was deleted again") {
		t.Fatalf("outcome: %+v", o)
	}
	if fake.Len() != 0 {
		t.Error("device left after rollback")
	}
	if b, _ := os.ReadFile(outfile); string(b) != "not ours" {
		t.Errorf("the file in the outfile's place was changed: %q", b)
	}
	if intentLeft(t, dir, "a") {
		t.Error("intent kept after a rollback")
	}
}

// TestFakeFailedRollbackKeepsIntent: when the rollback's delete fails too,
// the device may exist without its seed: the intent stays for the next
// plan, and the error names the serial.
func TestFakeFailedRollbackKeepsIntent(t *testing.T) {
	fake := applytest.New()
	fake.Fail("Delete", applytest.Fault{Err: applytest.Refusal("AccessDenied", "not allowed")})
	var outfile string
	fake.OnCreated = func(string) { os.WriteFile(outfile, nil, 0o600) }
	id, _ := age.GenerateX25519Identity()
	dir := filepath.Join(t.TempDir(), "out")
	p := mustPlan(t, devices(t, dir, id.Recipient().String(), "a"))
	outfile = p.Changes[0].Desired.Outfile
	res, err := apply.Run(context.Background(), fake, p, apply.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := res.Outcomes[0]
	serial := device.SerialFor("", applytest.Account, "/", "a")
	if o.RolledBack || !o.SeedLost || o.Code != "AccessDenied" || !strings.Contains(o.Err.Error(), "ROLLBACK FAILED, device "+serial) {
		t.Fatalf("outcome: %+v", o)
	}
	if !intentLeft(t, dir, "a") {
		t.Error("intent removed though the device may exist without its seed")
	}
}

// TestFakeLimitExceededStopsNewCreates: once IAM answers LimitExceeded,
// no further create is sent.
func TestFakeLimitExceededStopsNewCreates(t *testing.T) {
	fake := applytest.New()
	fake.Fail("Create", applytest.Fault{Err: applytest.Refusal("LimitExceeded", "quota reached")})
	res, dir, _ := fakeRun(t, fake, apply.Options{Parallelism: 1}, "a", "b", "c")
	if n := fake.Calls("Create"); n != 1 {
		t.Errorf("%d creates, want 1", n)
	}
	for i, o := range res.Outcomes {
		if o.Err == nil || o.Code != "LimitExceeded" || o.SeedLost || o.NotAttempted != (i > 0) {
			t.Errorf("%s: %+v", o.Device, o)
		}
		if intentLeft(t, dir, o.Device) {
			t.Errorf("%s: intent left, though nothing was created", o.Device)
		}
	}
}

// TestFakeCreateErrors: what a failed create leaves depends on whether
// the device may exist.
func TestFakeCreateErrors(t *testing.T) {
	tests := []struct {
		name     string
		fault    applytest.Fault
		code     string
		seedLost bool // and the intent kept
	}{
		{"refused", applytest.Fault{Err: applytest.Refusal("ValidationError", "bad")}, "ValidationError", false},
		{"no answer", applytest.Fault{Err: applytest.ErrNetwork}, "", true},
		{"maybe committed", applytest.Fault{Err: applytest.MaybeCommitted()}, "Throttling", true},
		{"lost response, tags unreadable", applytest.Fault{Commit: true, Err: applytest.SeedLost()}, "EntityAlreadyExists", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := applytest.New()
			fake.Fail("Create", tt.fault)
			fake.Fail("ListTags", applytest.Fault{Err: applytest.ErrNetwork})
			res, dir, _ := fakeRun(t, fake, apply.Options{}, "a")
			o := res.Outcomes[0]
			if o.Err == nil || o.Code != tt.code || o.SeedLost != tt.seedLost || o.CiphertextSHA256 != "" {
				t.Errorf("outcome: %+v", o)
			}
			if got := intentLeft(t, dir, "a"); got != tt.seedLost {
				t.Errorf("intent left = %v, want %v", got, tt.seedLost)
			}
			if n := fake.Calls("Delete"); n != 0 {
				t.Errorf("%d deletes", n)
			}
		})
	}
}

// TestFakeOutcomeCarriesWhatWasWritten: a created device's outcome holds
// the SHA-256 of the outfile's bytes and its recipients' fingerprints.
func TestFakeOutcomeCarriesWhatWasWritten(t *testing.T) {
	fake := applytest.New()
	res, _, id := fakeRun(t, fake, apply.Options{}, "a")
	o := res.Outcomes[0]
	checkSealed(t, fake, o, id)
	rs, err := seal.ParseRecipients([]string{id.Recipient().String()})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Recipients) != 1 || o.Recipients[0] != rs.Fingerprints[0] {
		t.Errorf("recipients %q, want %q", o.Recipients, rs.Fingerprints)
	}
	if want := sha256File(t, o.Outfile); o.CiphertextSHA256 != want {
		t.Errorf("CiphertextSHA256 = %s, want %s", o.CiphertextSHA256, want)
	}
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestFakeReplaceRechecksOwnership: between plan and apply (the prompt),
// another run replaced the device. Apply reads its create ID again, holding
// the intent, and refuses instead of deleting the other run's device; the
// outfile stays where it is.
func TestFakeReplaceRechecksOwnership(t *testing.T) {
	fake := applytest.New()
	res, dir, id := fakeRun(t, fake, apply.Options{}, "a")
	o := res.Outcomes[0]
	d, _ := fake.Device("a")
	live := d.Tags[device.CreateIDTag]
	devs := devices(t, dir, id.Recipient().String(), "a")
	p, err := plan.Compute(devs, plan.Observed{Account: applytest.Account,
		Devices:   []device.Observed{{Serial: d.Serial, Name: "a", Path: "/"}},
		CreateIDs: map[string]string{"a": live},
		Local:     map[string]plan.Local{"a": {Outfile: true, OutfileID: live}},
	}, plan.Options{Replace: []string{"a"}})
	if err != nil || p.Changes[0].Action != plan.Replace {
		t.Fatalf("plan: %+v %v", p.Changes, err)
	}
	if err := fake.Tag(context.Background(), d.Serial, map[string]string{device.CreateIDTag: "another-run"}); err != nil {
		t.Fatal(err)
	}
	res, err = apply.Run(context.Background(), fake, p, apply.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Outcomes[0]; got.Err == nil || !strings.Contains(got.Err.Error(), "changed since plan") {
		t.Fatalf("outcome %+v, want a refusal", got)
	}
	if n := fake.Calls("Delete"); n != 0 {
		t.Errorf("%d deletes of a device another run made", n)
	}
	if _, err := os.Stat(o.Outfile); err != nil {
		t.Errorf("the outfile was moved: %v", err)
	}
}
