// Package plan computes what mfabulk must do to make an account match a
// manifest. [Compute] is pure: the desired devices and the observed ones go
// in, a [Plan] value comes out. Showing a plan is the view package's job;
// carrying it out is the apply package's.
package plan

import (
	"sort"
	"strings"

	"github.com/mfabulk/mfabulk/device"
	"github.com/mfabulk/mfabulk/manifest"
)

// Action is what a plan does to one device.
type Action string

// The actions, in the order plans list them.
const (
	// Create makes a device the manifest lists and the account lacks.
	Create Action = "create"
	// Replace deletes an unassigned device and creates it again with a new
	// secret: an earlier run created it but its outfile was never written
	// (seed lost), as its leftover intent shows.
	Replace Action = "replace"
	// Conflict is a listed device whose name the account already uses at
	// another path or in another case. IAM cannot move or rename a device,
	// so apply refuses until a person resolves it.
	Conflict Action = "conflict"
	// Unchanged is a listed device that already exists as declared.
	Unchanged Action = "unchanged"
)

var actionOrder = map[Action]int{Create: 0, Replace: 1, Conflict: 2, Unchanged: 3}

// Change is the plan for one device of the manifest.
type Change struct {
	Action  Action
	Desired manifest.Device
	// Existing is the device found in the account under the same
	// case-insensitive name, if any.
	Existing *device.Observed
	// Reason says why, for conflicts.
	Reason string
}

// Plan is the set of changes for one manifest against one account.
type Plan struct {
	Account   string
	Partition string
	Changes   []Change
}

// Serial returns the serial number (ARN) IAM gives device d in the plan's
// account.
func (p Plan) Serial(d manifest.Device) string {
	partition := p.Partition
	if partition == "" {
		partition = "aws"
	}
	return "arn:" + partition + ":iam::" + p.Account + ":mfa" + d.Path + d.Name
}

// Observed is what plan knows of the world outside the manifest.
type Observed struct {
	Account   string
	Partition string // ARN partition: "aws", "aws-cn", "aws-us-gov"
	Devices   []device.Observed
	// SeedLost names the manifest devices that an earlier run meant to
	// create and whose outfile does not exist (the journal's pending
	// intents).
	SeedLost map[string]bool
}

// Compute diffs the desired devices against the observed ones by name,
// case-insensitively, as IAM compares names.
func Compute(desired []manifest.Device, obs Observed) Plan {
	byName := make(map[string]device.Observed, len(obs.Devices))
	for _, o := range obs.Devices {
		byName[strings.ToLower(o.Name)] = o
	}
	p := Plan{Account: obs.Account, Partition: obs.Partition}
	for _, d := range desired {
		o, ok := byName[strings.ToLower(d.Name)]
		c := Change{Action: Create, Desired: d}
		if ok {
			c.Existing = &o
			c.Action, c.Reason = compare(d, o)
			if c.Action == Unchanged && obs.SeedLost[d.Name] {
				c.Action, c.Reason = seedLost(o)
			}
		}
		p.Changes = append(p.Changes, c)
	}
	sort.SliceStable(p.Changes, func(i, j int) bool {
		a, b := p.Changes[i], p.Changes[j]
		if a.Action != b.Action {
			return actionOrder[a.Action] < actionOrder[b.Action]
		}
		return a.Desired.Name < b.Desired.Name
	})
	return p
}

func compare(d manifest.Device, o device.Observed) (Action, string) {
	switch {
	case o.Name != d.Name && o.Path != d.Path:
		return Conflict, "the account has " + o.Path + o.Name + ": same IAM name in another case, at another path; IAM cannot rename or move a device"
	case o.Name != d.Name:
		return Conflict, "the account has " + o.Name + ": same IAM name in another case; IAM cannot rename a device"
	case o.Path != d.Path:
		return Conflict, "it exists at path " + o.Path + "; IAM cannot move a device"
	}
	return Unchanged, ""
}

// seedLost decides what to do with a device whose secret an earlier run
// never sealed: replace it, unless a user has enabled it, which only a
// person may undo.
func seedLost(o device.Observed) (Action, string) {
	if o.Assigned() {
		return Conflict, "seed lost (an earlier run created it but never wrote its outfile), and it is assigned to " + userOr(o.User) + ": mfabulk never deletes an assigned device"
	}
	return Replace, "seed lost: an earlier run created it but never wrote its outfile"
}

func userOr(u string) string {
	if u == "" {
		return "a user"
	}
	return u
}

// Count returns how many changes have action a.
func (p Plan) Count(a Action) int {
	n := 0
	for _, c := range p.Changes {
		if c.Action == a {
			n++
		}
	}
	return n
}

// HasChanges reports whether the account differs from the manifest.
func (p Plan) HasChanges() bool { return p.Count(Unchanged) != len(p.Changes) }

// Filter returns the changes with action a.
func (p Plan) Filter(a Action) []Change {
	var out []Change
	for _, c := range p.Changes {
		if c.Action == a {
			out = append(out, c)
		}
	}
	return out
}
