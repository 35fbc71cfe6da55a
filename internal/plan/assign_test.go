package plan

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/manifest"
)

// Plan finds what would stop an enable before any create: a missing user,
// another user's device, and IAM's 8 devices per user (counting what the
// account has and what the plan adds).
func TestAssignConflicts(t *testing.T) {
	var desired []manifest.Device
	for i := range 4 {
		desired = append(desired, manifest.Device{Name: fmt.Sprint("new", i), Path: "/", User: "bob"})
	}
	desired = append(desired,
		manifest.Device{Name: "ghost", Path: "/", User: "nobody"},
		manifest.Device{Name: "taken", Path: "/", User: "bob"},
		manifest.Device{Name: "mine", Path: "/", User: "Bob"},
		manifest.Device{Name: "free", Path: "/", User: "bob"},
		manifest.Device{Name: "plain", Path: "/"})
	observed := []device.Observed{
		{Name: "taken", Path: "/", User: "erin"},
		{Name: "mine", Path: "/", User: "bob"},
		{Name: "free", Path: "/"},
		{Name: "plain", Path: "/", User: "zed"},
	}
	for i := range 4 { // bob has 5 already, with "mine"
		observed = append(observed, device.Observed{Name: fmt.Sprint("old", i), Path: "/", User: "bob"})
	}
	got := compute(t, desired, Observed{Account: "1", Devices: observed, Local: held("mine", "free", "plain"),
		Users: map[string]string{"bob": "bob", "erin": "erin", "zed": "zed"}}, Options{})
	want := map[string]string{
		"new0": "create", "new1": "create", "new2": "create", // bob: 5 + 3 = 8
		"new3":  "conflict: user bob has 8 MFA devices already",
		"free":  "mismatch", // unassigned, but no record proves it ours
		"ghost": "conflict: user nobody does not exist",
		"taken": "conflict: it is assigned to erin",
		"mine":  "unchanged", // assigned to its user, whatever the case
		"plain": "unchanged", // no user: never touched
	}
	for name, w := range want {
		c := got[name]
		if s := string(c.Action) + ": " + c.Reason; !strings.HasPrefix(s, w) && string(c.Action) != w {
			t.Errorf("%s: got %s, want %s", name, s, w)
		}
	}
	if !got["new0"].EnablesUser() || got["plain"].EnablesUser() {
		t.Error("EnablesUser")
	}
}

// An unassigned device this folder holds is assigned; one whose secret it
// does not hold stays a mismatch for a person.
func TestAssignOnlyWhatThisFolderHolds(t *testing.T) {
	desired := []manifest.Device{{Name: "a", Path: "/", User: "u"}, {Name: "b", Path: "/", User: "u"}}
	observed := []device.Observed{{Name: "a", Path: "/"}, {Name: "b", Path: "/"}}
	local := map[string]Local{"a": {Outfile: true, OutfileID: "id-a", RecordProof: "proof of id-a"}}
	got := compute(t, desired, Observed{Account: "1", Devices: observed, Local: local, CreateIDs: map[string]string{"a": "id-a", "b": "id-b"}, Users: map[string]string{"u": "u"}}, Options{})
	if got["a"].Action != Assign || got["b"].Action != Mismatch {
		t.Errorf("a: %s, b: %s", got["a"].Action, got["b"].Action)
	}
	// Assigning deletes the device to re-issue its secret: never without
	// proof that this folder made it (no record, or no tags to read).
	for name, obs := range map[string]Observed{
		"legacy outfile without a record": {Local: held("a"), CreateIDs: map[string]string{"a": "id-a"}},
		"endpoint without tags":           {Local: local, TagsUnsupported: true},
		"another device of the same name": {Local: local, CreateIDs: map[string]string{"a": "other"}},
		"a record without its proof":      {Local: map[string]Local{"a": {Outfile: true, OutfileID: "id-a", Unproven: "no proof"}}, CreateIDs: map[string]string{"a": "id-a"}},
	} {
		obs.Account, obs.Devices, obs.Users = "1", observed[:1], map[string]string{"u": "u"}
		if c := compute(t, desired[:1], obs, Options{})["a"]; c.Action != Mismatch {
			t.Errorf("%s: %s (%s), want mismatch", name, c.Action, c.Reason)
		}
	}
}
