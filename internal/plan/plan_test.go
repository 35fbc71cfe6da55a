package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/manifest"
)

func compute(t *testing.T, desired []manifest.Device, obs Observed, opts Options) map[string]Change {
	t.Helper()
	p, err := Compute(desired, obs, opts)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Change{}
	for _, c := range p.Changes {
		out[c.Name] = c
	}
	return out
}

// held says this folder holds the outfiles of names.
func held(names ...string) map[string]Local {
	l := map[string]Local{}
	for _, n := range names {
		l[n] = Local{Outfile: true}
	}
	return l
}

func TestCompute(t *testing.T) {
	desired := []manifest.Device{
		{Name: "alice", Path: "/q4/"}, {Name: "bob", Path: "/q4/"}, {Name: "carol", Path: "/q4/"},
		{Name: "dave", Path: "/q4/"}, {Name: "erin", Path: "/q4/"},
	}
	observed := []device.Observed{
		{Name: "bob", Path: "/q4/"}, {Name: "carol", Path: "/other/"}, {Name: "Dave", Path: "/q4/"},
		{Name: "zed", Path: "/q4/"}, // not in the manifest, no scope: left alone
	}
	p, err := Compute(desired, Observed{Account: "123", Devices: observed, Local: held("bob")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range p.Changes {
		got = append(got, string(c.Action)+":"+c.Name)
	}
	want := "create:alice create:erin conflict:carol conflict:dave unchanged:bob"
	if strings.Join(got, " ") != want {
		t.Errorf("got %v, want %s", got, want)
	}
	if !p.HasChanges() || len(p.Unlisted) != 0 {
		t.Errorf("HasChanges %v, unlisted %v", p.HasChanges(), p.Unlisted)
	}
	p, err = Compute(desired[1:2], Observed{Devices: observed, Local: held("bob")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.HasChanges() {
		t.Error("matching account reported changes")
	}
}

// TestOwnership is issue 9's rule: a device is replaced by mfabulk on its
// own only on proof (its create-ID tag is the one this folder's intent
// sent, or the one an interrupted replace was replacing); a device whose
// secret this folder does not provably hold is a mismatch, never unchanged.
func TestOwnership(t *testing.T) {
	var desired []manifest.Device
	var observed []device.Observed
	for _, n := range []string{"lost", "assigned", "notmade", "asked", "other", "resume", "nofile", "stale", "fine", "legacy", "unknown", "busy", "unproven"} {
		desired = append(desired, manifest.Device{Name: n, Path: "/"})
		if n != "notmade" {
			o := device.Observed{Name: n, Path: "/"}
			if n == "assigned" {
				o.User = "bob"
			}
			observed = append(observed, o)
		}
	}
	obs := Observed{Devices: observed,
		Local: map[string]Local{
			"lost":     {Pending: true, IntentAction: "create", IntentID: "A", IntentProof: "proof of A"},
			"assigned": {Pending: true, IntentAction: "create", IntentID: "A", IntentProof: "proof of A"},
			"notmade":  {Pending: true, IntentAction: "create", IntentID: "A"},
			"asked":    {Outfile: true, OutfileID: "A"},
			"other":    {Pending: true, IntentAction: "create", IntentID: "A"},
			"resume":   {Pending: true, IntentAction: "replace", IntentID: "B", IntentReplaces: "A", ReplacesProof: "proof of A"},
			"unproven": {Pending: true, IntentAction: "create", IntentID: "A", Unproven: "its intent carries no proof"},
			"stale":    {Outfile: true, OutfileID: "A"},
			"fine":     {Outfile: true, OutfileID: "A"},
			"legacy":   {Outfile: true},
			"unknown":  {Pending: true, IntentAction: "create", IntentID: "A"},
		},
		CreateIDs: map[string]string{"lost": "A", "assigned": "A", "asked": "A", "other": "Z", "resume": "A", "stale": "B", "fine": "A", "legacy": "Q", "unproven": "A"},
		Busy:      map[string]bool{"busy": true},
	}
	got := compute(t, desired, obs, Options{Replace: []string{"ASKED"}})
	for name, want := range map[string]Action{
		"lost": Replace, "assigned": Conflict, "notmade": Create, "asked": Replace, "other": Mismatch,
		"resume": Replace, "nofile": Mismatch, "stale": Mismatch, "fine": Unchanged, "legacy": Unchanged,
		"unknown": Mismatch, "busy": Unchanged, "unproven": Mismatch, // an intent without its proof: never replaced on it
	} {
		if got[name].Action != want {
			t.Errorf("%s: %s (%s), want %s", name, got[name].Action, got[name].Reason, want)
		}
	}
	if !strings.Contains(got["stale"].Reason, "earlier device") || !strings.Contains(got["nofile"].Reason, "not here") {
		t.Errorf("reasons: %q, %q", got["stale"].Reason, got["nofile"].Reason)
	}
}

func TestTags(t *testing.T) {
	desired := []manifest.Device{
		{Name: "a", Path: "/", Tags: map[string]string{"team": "x", "cohort": "q4"}},
		{Name: "b", Path: "/"},
		{Name: "c", Path: "/", Tags: map[string]string{"team": "y"}},
	}
	observed := []device.Observed{{Name: "a", Path: "/"}, {Name: "b", Path: "/"}, {Name: "c", Path: "/"}}
	tags := map[string]map[string]string{"a": {"team": "old", "stale": "1"}, "b": {"k": "v"}, "c": {"team": "y"}}
	got := compute(t, desired, Observed{Devices: observed, Tags: tags, Local: held("a", "b", "c")}, Options{ManageTags: true})
	if got["a"].Action != UpdateTags || len(got["a"].Tags) != 3 {
		t.Fatalf("a: %+v", got["a"])
	}
	var lines []string
	for _, tc := range got["a"].Tags {
		lines = append(lines, tc.Key+":"+deref(tc.Before)+">"+deref(tc.After))
	}
	if strings.Join(lines, " ") != "cohort:->q4 stale:1>- team:old>x" {
		t.Errorf("a's tag changes: %v", lines)
	}
	if got["b"].Action != UpdateTags || got["b"].Tags[0].After != nil {
		t.Errorf("b: a manifest that manages tags removes unlisted ones: %+v", got["b"])
	}
	if got["c"].Action != Unchanged {
		t.Errorf("c: %+v", got["c"])
	}
	if got := compute(t, desired, Observed{Devices: observed, Tags: tags, Local: held("a", "b", "c")}, Options{}); got["a"].Action != Unchanged {
		t.Error("tags compared although the manifest does not manage them")
	}
}

func deref(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}

func TestPruneAndTarget(t *testing.T) {
	desired := []manifest.Device{{Name: "a", Path: "/q4/"}}
	observed := []device.Observed{
		{Name: "a", Path: "/q4/"}, {Name: "old", Path: "/q4/"}, {Name: "kept", Path: "/q4/", User: "kim", EnableDate: time.Now()},
		{Name: "outside", Path: "/other/"},
	}
	obs := Observed{Devices: observed, Local: held("a")}
	scope := []string{"/q4/"}
	p, err := Compute(desired, obs, Options{Scopes: scope})
	if err != nil {
		t.Fatal(err)
	}
	if p.HasChanges() || len(p.Unlisted) != 2 {
		t.Errorf("without --prune: changes %v, unlisted %v", p.Changes, p.Unlisted)
	}
	got := compute(t, desired, obs, Options{Scopes: scope, Prune: true})
	if got["old"].Action != Delete || got["kept"].Action != Refused || !strings.Contains(got["kept"].Reason, "kim") {
		t.Errorf("prune: %+v", got)
	}
	if _, ok := got["outside"]; ok {
		t.Error("prune reached outside the scope")
	}
	if _, err := Compute(desired, obs, Options{Prune: true}); err == nil {
		t.Error("prune without a scope was accepted")
	}
	got = compute(t, desired, obs, Options{Scopes: scope, Prune: true, Targets: []string{"old"}})
	if len(got) != 1 || got["old"].Action != Delete {
		t.Errorf("target: %+v", got)
	}
	if _, err := Compute(desired, obs, Options{Targets: []string{"nobody"}}); err == nil {
		t.Error("a target naming nothing was accepted")
	}
}
