package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/manifest"
)

// A lost phone: --replace of a device its user has is a conflict naming
// --allow-deactivate; with the flag it is a replace that deactivates the
// device first, enables the new one for the manifest's user, and does not
// count against the user's limit (the old device goes).
func TestReplaceAssignedNeedsAllowDeactivate(t *testing.T) {
	desired := []manifest.Device{{Name: "bob", Path: "/team/", User: "bob"}, {Name: "kim", Path: "/team/"}}
	observed := []device.Observed{
		{Name: "bob", Path: "/team/", User: "bob", EnableDate: time.Now()},
		{Name: "kim", Path: "/team/", User: "kim", EnableDate: time.Now()},
	}
	obs := Observed{Account: "1", Devices: observed, Local: held("bob", "kim"),
		Users: map[string]string{"bob": "bob", "kim": "kim"}, UserMFA: map[string]int{"bob": MaxUserDevices}}
	got := compute(t, desired, obs, Options{Replace: []string{"bob", "kim"}})
	for _, n := range []string{"bob", "kim"} {
		if c := got[n]; c.Action != Conflict || !strings.Contains(c.Reason, "--allow-deactivate") || c.Deactivate != "" {
			t.Errorf("%s without --allow-deactivate: %s: %s (deactivate %q)", n, c.Action, c.Reason, c.Deactivate)
		}
	}
	if p, _ := Compute(desired, obs, Options{Replace: []string{"bob", "kim"}}); p.NeedsAllowDeactivate() != 2 {
		t.Errorf("NeedsAllowDeactivate = %d, want 2", p.NeedsAllowDeactivate())
	}
	got = compute(t, desired, obs, Options{Replace: []string{"bob", "kim"}, AllowDeactivate: true})
	bob, kim := got["bob"], got["kim"]
	if bob.Action != Replace || bob.Deactivate != "bob" || !bob.EnablesUser() {
		t.Errorf("bob with --allow-deactivate: %s: %s (deactivate %q)", bob.Action, bob.Reason, bob.Deactivate)
	}
	if want := "bob cannot sign in with MFA until the new device is enabled"; !strings.HasPrefix(bob.Consequence(), want) {
		t.Errorf("consequence %q, want %q…", bob.Consequence(), want)
	}
	// No user in the manifest: the new device is left for enroll.
	if kim.Action != Replace || kim.Deactivate != "kim" || kim.EnablesUser() || !strings.Contains(kim.Consequence(), "enroll") {
		t.Errorf("kim with --allow-deactivate: %s: %s, consequence %q", kim.Action, kim.Reason, kim.Consequence())
	}
	// The flag alone replaces nothing.
	if got := compute(t, desired, obs, Options{AllowDeactivate: true}); got["bob"].Action != Unchanged || got["bob"].Deactivate != "" {
		t.Errorf("--allow-deactivate alone: %+v", got["bob"])
	}
}

// A device another user has than the manifest names, or one IAM names no
// user for, is never deactivated, flag or not.
func TestDeactivateOnlyTheManifestsUser(t *testing.T) {
	desired := []manifest.Device{{Name: "dave", Path: "/", User: "dave"}, {Name: "root", Path: "/"}}
	observed := []device.Observed{
		{Name: "dave", Path: "/", User: "erin", EnableDate: time.Now()},
		{Name: "root", Path: "/", EnableDate: time.Now()},
	}
	obs := Observed{Account: "1", Devices: observed, Local: held("dave", "root"), Users: map[string]string{"dave": "dave", "erin": "erin"}}
	got := compute(t, desired, obs, Options{Replace: []string{"dave", "root"}, AllowDeactivate: true})
	if p, _ := Compute(desired, obs, Options{Replace: []string{"dave", "root"}}); p.NeedsAllowDeactivate() != 0 {
		t.Errorf("NeedsAllowDeactivate = %d, want 0: the flag resolves neither", p.NeedsAllowDeactivate())
	}
	for _, n := range []string{"dave", "root"} {
		if c := got[n]; c.Action != Conflict || c.Deactivate != "" {
			t.Errorf("%s: %s: %s (deactivate %q)", n, c.Action, c.Reason, c.Deactivate)
		}
	}
}

// An interrupted lost-phone replace killed before the deactivate (the old
// outfile aside, the device still the user's) resumes with the flag, and
// names it without.
func TestInterruptedDeactivatingReplace(t *testing.T) {
	desired := []manifest.Device{{Name: "bob", Path: "/", User: "bob"}}
	obs := Observed{Account: "1", Devices: []device.Observed{{Name: "bob", Path: "/", User: "bob", EnableDate: time.Now()}},
		CreateIDs: map[string]string{"bob": "old"}, Users: map[string]string{"bob": "bob"},
		Local: map[string]Local{"bob": {Pending: true, IntentAction: "replace", IntentID: "new", IntentReplaces: "old", ReplacesProof: "p"}}}
	if c := compute(t, desired, obs, Options{})["bob"]; c.Action != Conflict || !strings.Contains(c.Reason, "--allow-deactivate") {
		t.Errorf("without the flag: %s: %s", c.Action, c.Reason)
	}
	if c := compute(t, desired, obs, Options{AllowDeactivate: true})["bob"]; c.Action != Replace || c.Deactivate != "bob" || !c.Intent.Present {
		t.Errorf("with the flag: %s: %s (deactivate %q)", c.Action, c.Reason, c.Deactivate)
	}
	// Killed after the deactivate: unassigned, the replace resumes alone.
	obs.Devices[0].User, obs.Devices[0].EnableDate = "", time.Time{}
	if c := compute(t, desired, obs, Options{})["bob"]; c.Action != Replace || c.Deactivate != "" || !c.EnablesUser() {
		t.Errorf("after the deactivate: %s: %s", c.Action, c.Reason)
	}
}

// Leavers: --prune deletes an assigned device no manifest lists only with
// --allow-deactivate, deactivating it first; without it, Refused names it.
func TestPruneLeaver(t *testing.T) {
	desired := []manifest.Device{{Name: "a", Path: "/q4/"}}
	observed := []device.Observed{{Name: "a", Path: "/q4/"}, {Name: "kept", Path: "/q4/", User: "kim", EnableDate: time.Now()}}
	obs := Observed{Devices: observed, Local: held("a")}
	scope := []string{"/q4/"}
	if c := compute(t, desired, obs, Options{Scopes: scope, Prune: true})["kept"]; c.Action != Refused || !strings.Contains(c.Reason, "--allow-deactivate") {
		t.Errorf("without the flag: %s: %s", c.Action, c.Reason)
	}
	c := compute(t, desired, obs, Options{Scopes: scope, Prune: true, AllowDeactivate: true})["kept"]
	if c.Action != Delete || c.Deactivate != "kim" || !strings.HasPrefix(c.Consequence(), "kim loses") {
		t.Errorf("with the flag: %s: %s (deactivate %q, %q)", c.Action, c.Reason, c.Deactivate, c.Consequence())
	}
}

// --target of a device no manifest lists: a prune in scope acts on it;
// outside the scope, or absent from the account, the plan says why
// instead of "No changes".
func TestTargetUnlisted(t *testing.T) {
	desired := []manifest.Device{{Name: "a", Path: "/q4/"}}
	observed := []device.Observed{{Name: "a", Path: "/q4/"}, {Name: "old", Path: "/q4/"}, {Name: "outside", Path: "/other/"}}
	obs := Observed{Account: "1", Devices: observed, Local: held("a")}
	scope := []string{"/q4/"}
	if got := compute(t, desired, obs, Options{Scopes: scope, Prune: true, Targets: []string{"old"}}); got["old"].Action != Delete {
		t.Errorf("in scope: %+v", got)
	}
	for target, want := range map[string]string{
		"outside": "--target outside: /other/outside is not in the manifest and lies outside its scope.paths (/q4/)",
		"gone":    "--target gone: no such device in the manifest, nor in account 1",
	} {
		_, err := Compute(desired, obs, Options{Scopes: scope, Prune: true, Targets: []string{target}})
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("--target %s: %v, want %q…", target, err, want)
		}
	}
	if _, err := Compute(desired, obs, Options{Targets: []string{"outside"}}); err == nil || !strings.Contains(err.Error(), "declares no scope.paths") {
		t.Errorf("--target outside without a scope: %v", err)
	}
}
