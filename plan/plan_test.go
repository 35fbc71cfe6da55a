package plan

import (
	"testing"

	"github.com/mfabulk/mfabulk/device"
	"github.com/mfabulk/mfabulk/manifest"
)

func TestCompute(t *testing.T) {
	desired := []manifest.Device{
		{Name: "alice", Path: "/q4/"},
		{Name: "bob", Path: "/q4/"},
		{Name: "carol", Path: "/q4/"},
		{Name: "dave", Path: "/q4/"},
		{Name: "erin", Path: "/q4/"},
	}
	observed := []device.Observed{
		{Name: "bob", Path: "/q4/"},
		{Name: "carol", Path: "/other/"},
		{Name: "Dave", Path: "/q4/"},
		{Name: "zed", Path: "/q4/"}, // not in the manifest: left alone
	}
	p := Compute(desired, Observed{Account: "123", Devices: observed})
	want := map[string]Action{"alice": Create, "bob": Unchanged, "carol": Conflict, "dave": Conflict, "erin": Create}
	if len(p.Changes) != len(want) {
		t.Fatalf("got %d changes, want %d", len(p.Changes), len(want))
	}
	for _, c := range p.Changes {
		if want[c.Desired.Name] != c.Action {
			t.Errorf("%s: got %s, want %s", c.Desired.Name, c.Action, want[c.Desired.Name])
		}
	}
	order := []string{"alice", "erin", "carol", "dave", "bob"}
	for i, c := range p.Changes {
		if c.Desired.Name != order[i] {
			t.Errorf("change %d is %s, want %s", i, c.Desired.Name, order[i])
		}
	}
	if !p.HasChanges() || p.Count(Create) != 2 || p.Count(Conflict) != 2 {
		t.Errorf("counts wrong: %+v", p)
	}
	if Compute(desired[1:2], Observed{Account: "1", Devices: observed}).HasChanges() {
		t.Error("matching account reported changes")
	}
}

func TestComputeSeedLost(t *testing.T) {
	desired := []manifest.Device{{Name: "alice", Path: "/"}, {Name: "bob", Path: "/"}, {Name: "carol", Path: "/"}}
	observed := []device.Observed{{Name: "alice", Path: "/"}, {Name: "bob", Path: "/", User: "bob"}}
	p := Compute(desired, Observed{Devices: observed, SeedLost: map[string]bool{"alice": true, "bob": true, "carol": true}})
	got := map[string]Action{}
	for _, c := range p.Changes {
		got[c.Desired.Name] = c.Action
	}
	// alice: ours, unassigned → replace; bob: assigned → never deleted;
	// carol: the create never reached IAM → plain create.
	if got["alice"] != Replace || got["bob"] != Conflict || got["carol"] != Create {
		t.Errorf("got %v", got)
	}
}
