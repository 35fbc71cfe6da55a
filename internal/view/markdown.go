package view

import (
	"fmt"
	"io"
	"strings"

	"github.com/mfabulk/mfabulk/internal/plan"
)

// PlanMarkdown writes p for a pull-request comment or
// $GITHUB_STEP_SUMMARY: a table of counts, then the changes in a
// collapsible section.
func PlanMarkdown(w io.Writer, p plan.Plan) {
	fmt.Fprintf(w, "### mfabulk plan for account %s\n\n", p.Account)
	if !p.HasChanges() {
		fmt.Fprintf(w, "**No changes.** %d device(s) match the manifest.\n\n", p.Count(plan.Unchanged)+p.Count(plan.Refused))
	}
	fmt.Fprintf(w, "| action | devices |\n|---|---:|\n")
	for _, a := range plan.Actions {
		fmt.Fprintf(w, "| %s | %d |\n", a, p.Count(a))
	}
	var rows []string
	for _, c := range p.Changes {
		if c.Action == plan.Unchanged {
			continue
		}
		rows = append(rows, fmt.Sprintf("| %s %s | `%s%s` | %s |", symbols[c.Action].sym, c.Action, mdEscape(c.Path), mdEscape(c.Name), mdEscape(details(c))))
	}
	if len(rows) > 0 {
		fmt.Fprintf(w, "\n<details><summary>%d change(s)</summary>\n\n| action | device | details |\n|---|---|---|\n%s\n\n</details>\n",
			len(rows), strings.Join(rows, "\n"))
	}
	for _, n := range p.Notices {
		fmt.Fprintf(w, "\n> **%s** `%s`: %s\n", map[bool]string{true: "In progress:", false: "Journal:"}[n.InProgress], mdEscape(n.Device), mdEscape(n.Message))
	}
	if len(p.Unlisted) > 0 {
		fmt.Fprintf(w, "\n%d device(s) in scope are not in the manifest; `plan --prune` shows them as deletions.\n", len(p.Unlisted))
	}
}

func details(c plan.Change) string {
	switch c.Action {
	case plan.Create:
		return c.Desired.Bootstrap + " → " + rel(c.Desired.Outfile) + assignTo(c)
	case plan.Replace, plan.Assign:
		return c.Reason + "; new secret → " + rel(c.Desired.Outfile) + assignTo(c)
	case plan.UpdateTags:
		var parts []string
		for _, t := range c.Tags {
			parts = append(parts, t.Key+": "+tagValue(t.Before)+" → "+tagValue(t.After))
		}
		return strings.Join(parts, "; ")
	}
	return c.Reason
}

// mdEscape keeps a value from breaking the table.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "`", "'").Replace(s)
}

// assignTo names the user a change enables its device for, if any.
func assignTo(c plan.Change) string {
	if c.EnablesUser() {
		return "; enabled for user " + c.Desired.User
	}
	return ""
}
