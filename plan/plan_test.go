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
	p := Compute("123", desired, observed)
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
	if Compute("1", desired[1:2], observed).HasChanges() {
		t.Error("matching account reported changes")
	}
}
