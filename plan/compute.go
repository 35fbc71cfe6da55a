package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mfabulk/mfabulk/device"
	"github.com/mfabulk/mfabulk/manifest"
)

// computation holds one Compute's indexes.
type computation struct {
	obs      Observed
	opts     Options
	desired  map[string]bool            // lower-case names the manifest lists
	observed map[string]device.Observed // by lower-case name
	targets  map[string]bool            // lower-case; empty means all
	replace  map[string]bool            // lower-case
}

func newComputation(desired []manifest.Device, obs Observed, opts Options) *computation {
	c := &computation{obs: obs, opts: opts, desired: map[string]bool{}, observed: map[string]device.Observed{},
		targets: lowerSet(opts.Targets), replace: lowerSet(opts.Replace)}
	for _, d := range desired {
		c.desired[strings.ToLower(d.Name)] = true
	}
	for _, o := range obs.Devices {
		c.observed[strings.ToLower(o.Name)] = o
	}
	return c
}

func lowerSet(names []string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[strings.ToLower(n)] = true
	}
	return m
}

// checkNames refuses --target and --replace names that name nothing.
func (c *computation) checkNames() error {
	for _, list := range []struct {
		flag  string
		names []string
	}{{"--target", c.opts.Targets}, {"--replace", c.opts.Replace}} {
		for _, n := range list.names {
			l := strings.ToLower(n)
			if _, inAccount := c.observed[l]; !c.desired[l] && !(list.flag == "--target" && inAccount) {
				return fmt.Errorf("%s %s: no such device in the manifest", list.flag, n)
			}
		}
	}
	return nil
}

func (c *computation) targeted(name string) bool {
	return len(c.targets) == 0 || c.targets[strings.ToLower(name)]
}

// forDesired plans one device of the manifest.
func (c *computation) forDesired(d *manifest.Device) Change {
	ch := Change{Action: Create, Name: d.Name, Path: d.Path, Desired: d}
	o, ok := c.observed[strings.ToLower(d.Name)]
	if !ok {
		return ch
	}
	ch.Existing = &o
	switch {
	case o.Name != d.Name && o.Path != d.Path:
		ch.Action, ch.Reason = Conflict, "the account has "+o.Path+o.Name+": same IAM name in another case, at another path; IAM cannot rename or move a device"
	case o.Name != d.Name:
		ch.Action, ch.Reason = Conflict, "the account has "+o.Name+": same IAM name in another case; IAM cannot rename a device"
	case o.Path != d.Path:
		ch.Action, ch.Reason = Conflict, "it exists at path "+o.Path+"; IAM cannot move a device"
	case c.obs.SeedLost[d.Name]:
		ch.Action, ch.Reason = replaceOr(o, "seed lost: an earlier run created it but never wrote its outfile")
	case c.replace[strings.ToLower(d.Name)]:
		ch.Action, ch.Reason = replaceOr(o, "replacement requested with --replace")
	default:
		ch.Action = Unchanged
		if c.opts.ManageTags {
			if ch.Tags = diffTags(c.obs.Tags[o.Name], d.Tags); len(ch.Tags) > 0 {
				ch.Action = UpdateTags
			}
		}
	}
	return ch
}

// notices reports the journal's findings on the targeted devices.
func (c *computation) notices(desired []manifest.Device) []Notice {
	var out []Notice
	for _, d := range desired {
		switch {
		case !c.targeted(d.Name):
		case c.obs.Busy[d.Name]:
			out = append(out, Notice{Device: d.Name, InProgress: true,
				Message: "another mfabulk run is working on it now; plan again when it has finished"})
		case c.obs.Untrusted[d.Name] != "":
			out = append(out, Notice{Device: d.Name,
				Message: "its intent file is not this plan's and is ignored (" + c.obs.Untrusted[d.Name] + "); remove it, or plan against the account it names"})
		}
	}
	return out
}

// replaceOr replaces an unassigned device; an assigned one has a user,
// and only a person may take it away.
func replaceOr(o device.Observed, reason string) (Action, string) {
	if o.Assigned() {
		return Conflict, reason + ", but it is assigned to " + userOr(o.User) + ": mfabulk never deletes an assigned device"
	}
	return Replace, reason
}

// unlistedInScope returns the observed devices inside the scope that no
// manifest lists.
func (c *computation) unlistedInScope() []device.Observed {
	var out []device.Observed
	for _, o := range c.obs.Devices {
		if scopeOf(o.Path, c.opts.Scopes) != "" && !c.desired[strings.ToLower(o.Name)] {
			out = append(out, o)
		}
	}
	return out
}

// diffTags lists the changes from before to after, by key.
func diffTags(before, after map[string]string) []TagChange {
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	var out []TagChange
	for k := range keys {
		b, inB := before[k]
		a, inA := after[k]
		if inB && inA && a == b {
			continue
		}
		tc := TagChange{Key: k}
		if inB {
			tc.Before = &b
		}
		if inA {
			tc.After = &a
		}
		out = append(out, tc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
