package jsonplan

import (
	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
)

// ToPlan rebuilds, from a document, the plan value the views draw, so that
// a saved plan is shown (show-plan) by the same code as a computed one,
// without AWS. It holds what the document holds: unchanged devices are
// placeholders (only counted), and outfile paths are as the document wrote
// them, relative to the folder the plan was made in.
func ToPlan(d Doc) plan.Plan {
	p := plan.Plan{Account: d.Account}
	for _, jc := range d.Changes {
		c := plan.Change{Action: plan.Action(jc.Action), Name: jc.Device, Path: jc.Path, Reason: jc.Reason, Deactivate: jc.Deactivate}
		if jc.Serial != "" {
			c.Existing = &device.Observed{Serial: jc.Serial, Name: jc.Device, Path: jc.Path, User: jc.User}
		}
		reviewed := c.Action == plan.Create || c.Action == plan.Replace || c.Action == plan.Assign
		if reviewed || c.Action == plan.Conflict || c.Action == plan.Mismatch || c.Action == plan.UpdateTags || c.Action == plan.Settle || c.Action == plan.Reseal {
			c.Desired = &manifest.Device{Name: jc.Device, Path: jc.Path, Bootstrap: jc.Bootstrap, Outfile: jc.Outfile, User: jc.AssignTo,
				Store: manifest.Store{URL: jc.Store, KMSKeyID: jc.KMSKeyID}}
		}
		c.Gains, c.Loses = jc.Gains, jc.Loses // a re-seal's who gains and who loses access
		for _, t := range jc.Tags {
			if reviewed && t.After != nil {
				if c.Desired.Tags == nil {
					c.Desired.Tags = map[string]string{}
				}
				c.Desired.Tags[t.Key] = *t.After
				continue
			}
			c.Tags = append(c.Tags, plan.TagChange{Key: t.Key, Before: t.Before, After: t.After})
		}
		if reviewed {
			for _, r := range jc.Recipients {
				c.Desired.Recipients = append(c.Desired.Recipients, r.Key)
			}
		}
		p.Changes = append(p.Changes, c)
	}
	for i := 0; i < d.Summary[string(plan.Unchanged)]; i++ {
		p.Changes = append(p.Changes, plan.Change{Action: plan.Unchanged})
	}
	for _, o := range d.Unlisted {
		p.Unlisted = append(p.Unlisted, device.Observed{Serial: o.Serial, Name: o.Device, Path: o.Path})
	}
	for _, n := range d.Notices {
		p.Notices = append(p.Notices, plan.Notice{Device: n.Device, InProgress: n.InProgress, Local: n.Local, Store: n.Store, Message: n.Message})
	}
	return p
}
