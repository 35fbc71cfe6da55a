package view

import (
	"fmt"
	"strings"

	"github.com/mfabulk/mfabulk/internal/plan"
)

// leftover is a device apply would leave as it is although the plan is
// about it, and why: a person must act first.
type leftover struct{ kind, device, why string }

// leftovers are the devices apply would leave undone: a mismatch (apply
// leaves it and exits 1), a device prune would delete but a user has
// (refused), a device another run is working on, and one whose outfile
// folder apply would refuse on this machine.
func leftovers(p plan.Plan) []leftover {
	var out []leftover
	for _, c := range p.Changes {
		switch c.Action {
		case plan.Mismatch, plan.Refused:
			out = append(out, leftover{string(c.Action), changeName(c), reason(c)})
		}
	}
	for _, n := range p.Notices {
		switch {
		case n.InProgress:
			out = append(out, leftover{"in progress", noticeDevice(n), noticeMessage(n)})
		case n.Local:
			out = append(out, leftover{"outfile", noticeDevice(n), noticeMessage(n)})
		}
	}
	return out
}

// Unfinished is the line that says apply would leave devices of p undone,
// by kind; "" when it would carry out every change.
func Unfinished(p plan.Plan) string {
	ls := leftovers(p)
	if len(ls) == 0 {
		return ""
	}
	var kinds []string
	count := map[string]int{}
	for _, l := range ls {
		if count[l.kind] == 0 {
			kinds = append(kinds, l.kind)
		}
		count[l.kind]++
	}
	for i, k := range kinds {
		kinds[i] = fmt.Sprintf("%d %s", count[k], k)
	}
	return fmt.Sprintf("Apply would leave %d device(s) undone: %s.", len(ls), strings.Join(kinds, ", "))
}
