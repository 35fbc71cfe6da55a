package view

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/mfabulk/mfabulk/internal/plan"
)

// Style turns colour on or off; colour is for terminals only, and never
// when NO_COLOR is set.
type Style struct{ Color bool }

func (s Style) paint(code, text string) string {
	if !s.Color {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

var symbols = map[plan.Action]struct{ sym, color, label string }{
	plan.Create:     {"+", "32", "create"},
	plan.Replace:    {"~", "33", "replace"},
	plan.Assign:     {"~", "36", "assign"},
	plan.UpdateTags: {"~", "33", "update tags"},
	plan.Delete:     {"-", "31", "delete"},
	plan.Settle:     {"~", "36", "settle"},
	plan.Conflict:   {"!", "1;31", "conflict"},
	plan.Mismatch:   {"!", "1;31", "mismatch"},
	plan.Refused:    {"!", "35", "refused"},
}

// Summary is the closing line of a plan: every count, in plan order.
func Summary(p plan.Plan) string {
	s := fmt.Sprintf("Plan: %d to create, %d to replace, %d to update tags, %d to delete; %d unchanged, %d in conflict, %d refused.",
		p.Count(plan.Create), p.Count(plan.Replace), p.Count(plan.UpdateTags), p.Count(plan.Delete),
		p.Count(plan.Unchanged), p.Count(plan.Conflict), p.Count(plan.Refused))
	if n := p.Count(plan.Assign); n > 0 {
		s += fmt.Sprintf(" %d to assign.", n)
	}
	if n := p.Count(plan.Settle); n > 0 {
		s += fmt.Sprintf(" %d outfile(s) to record.", n)
	}
	if n := p.Count(plan.Mismatch); n > 0 {
		s += fmt.Sprintf(" %d device(s) need a person: their secret is not provably in this folder.", n)
	}
	if n := InProgress(p); n > 0 {
		s += fmt.Sprintf(" %d device(s) are being worked on by another run.", n)
	}
	return s
}

// PlanText writes p in the style of terraform plan. An account that
// matches the manifest gets one line, so scheduled runs stay quiet.
func PlanText(w io.Writer, p plan.Plan, st Style) {
	if !p.HasChanges() {
		fmt.Fprintf(w, "No changes. %d device(s) in account %s match the manifest.\n", p.Count(plan.Unchanged)+p.Count(plan.Refused), p.Account)
		for _, c := range p.Filter(plan.Refused) {
			writeChange(w, c, st)
		}
		writeNotices(w, p, st)
		writeUnlisted(w, p)
		return
	}
	fmt.Fprintf(w, "mfabulk will perform the following actions in account %s:\n\n", p.Account)
	for _, c := range p.Changes {
		writeChange(w, c, st)
	}
	writeNotices(w, p, st)
	fmt.Fprintf(w, "\n%s\n", Summary(p))
	writeUnlisted(w, p)
}

// writeNotices lists devices another run is working on and journal files
// the plan did not trust.
func writeNotices(w io.Writer, p plan.Plan, st Style) {
	for _, n := range p.Notices {
		label := "journal"
		if n.InProgress {
			label = "in progress"
		}
		fmt.Fprintf(w, "%s %s: %s\n", st.paint("35", fmt.Sprintf("  ! %-11s", label)), n.Device, n.Message)
	}
}

// InProgress counts the devices another live run is working on.
func InProgress(p plan.Plan) int {
	n := 0
	for _, x := range p.Notices {
		if x.InProgress {
			n++
		}
	}
	return n
}

func writeChange(w io.Writer, c plan.Change, st Style) {
	s, ok := symbols[c.Action]
	if !ok {
		return
	}
	head := st.paint(s.color, fmt.Sprintf("  %s %-11s", s.sym, s.label)) + " " + c.Path + c.Name
	if c.EnablesUser() {
		head += " → " + c.Desired.User
	}
	switch c.Action {
	case plan.Create:
		fmt.Fprintf(w, "%s  (%s → %s)\n", head, c.Desired.Bootstrap, rel(c.Desired.Outfile))
	case plan.Replace, plan.Assign:
		fmt.Fprintf(w, "%s: %s (new secret → %s)\n", head, c.Reason, rel(c.Desired.Outfile))
	case plan.UpdateTags:
		fmt.Fprintln(w, head)
		for _, t := range c.Tags {
			fmt.Fprintf(w, "        %s: %s → %s\n", t.Key, tagValue(t.Before), tagValue(t.After))
		}
	default:
		fmt.Fprintf(w, "%s: %s\n", head, c.Reason)
	}
}

func tagValue(v *string) string {
	if v == nil {
		return "(none)"
	}
	return strconv.Quote(*v)
}

func writeUnlisted(w io.Writer, p plan.Plan) {
	if len(p.Unlisted) == 0 {
		return
	}
	names := make([]string, len(p.Unlisted))
	for i, o := range p.Unlisted {
		names[i] = o.Path + o.Name
	}
	fmt.Fprintf(w, "\n%d device(s) in scope are not in the manifest (%s); plan --prune shows them as deletions.\n",
		len(names), strings.Join(names, ", "))
}
