// Package view renders plans and apply progress for people. It only
// formats: every number and decision comes from the plan and apply values.
package view

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mfabulk/mfabulk/apply"
	"github.com/mfabulk/mfabulk/plan"
)

// Rel shows an outfile relative to the working folder when it is inside
// it, as a user typed it, and absolute otherwise.
func Rel(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	r, err := filepath.Rel(wd, path)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return path
	}
	return r
}

// Summary is the closing line of a plan, "Plan: 2 to create, …".
func Summary(p plan.Plan) string {
	replace := ""
	if n := p.Count(plan.Replace); n > 0 {
		replace = fmt.Sprintf(" %d to replace,", n)
	}
	return fmt.Sprintf("Plan: %d to create,%s %d unchanged, %d in conflict.",
		p.Count(plan.Create), replace, p.Count(plan.Unchanged), p.Count(plan.Conflict))
}

// PlanText writes p in the style of terraform plan. An account that
// matches the manifest gets one line, so scheduled runs stay quiet.
func PlanText(w io.Writer, p plan.Plan) {
	if !p.HasChanges() {
		fmt.Fprintf(w, "No changes. %d device(s) in account %s match the manifest.\n", len(p.Changes), p.Account)
		return
	}
	fmt.Fprintf(w, "mfabulk will perform the following actions in account %s:\n\n", p.Account)
	for _, c := range p.Changes {
		d := c.Desired
		switch c.Action {
		case plan.Create:
			fmt.Fprintf(w, "  + create    %s%s  (%s → %s)\n", d.Path, d.Name, d.Bootstrap, Rel(d.Outfile))
		case plan.Replace:
			fmt.Fprintf(w, "  ~ replace   %s%s: %s (new secret → %s)\n", d.Path, d.Name, c.Reason, Rel(d.Outfile))
		case plan.Conflict:
			fmt.Fprintf(w, "  ! conflict  %s%s: %s\n", d.Path, d.Name, c.Reason)
		}
	}
	fmt.Fprintf(w, "\n%s\n", Summary(p))
}

// Event writes one line for an apply event, for logs and non-terminals.
func Event(w io.Writer, e apply.Event) {
	o := e.Outcome
	switch e.Kind {
	case apply.Created:
		verb := "created"
		if o.Action == plan.Replace {
			verb = "replaced"
		}
		fmt.Fprintf(w, "%s: %s %s, secret sealed to %s\n", o.Device, verb, o.Serial, Rel(o.Outfile))
	case apply.Failed:
		fmt.Fprintf(w, "%s: failed: %v\n", o.Device, o.Err)
	}
}

// ApplySummary writes the closing lines of an apply: counts, then every
// failure with its AWS error code, and what a seed-lost device needs.
func ApplySummary(w io.Writer, r apply.Result) {
	var created, replaced, failed, skipped int
	for _, o := range r.Outcomes {
		switch {
		case o.NotAttempted:
			skipped++
		case o.Err != nil:
			failed++
		case o.Action == plan.Replace:
			replaced++
		default:
			created++
		}
	}
	fmt.Fprintf(w, "\nApply complete: %d created, ", created)
	if replaced > 0 {
		fmt.Fprintf(w, "%d replaced, ", replaced)
	}
	fmt.Fprintf(w, "%d failed", failed)
	if skipped > 0 {
		fmt.Fprintf(w, ", %d not attempted (device quota reached)", skipped)
	}
	fmt.Fprintln(w, ".")
	if failed+skipped == 0 {
		return
	}
	fmt.Fprintf(w, "\nFailures:\n")
	for _, o := range r.Failed() {
		code := o.Code
		if code == "" {
			code = "-"
		}
		fmt.Fprintf(w, "  %s [%s]: %v\n", o.Device, code, o.Err)
	}
}
