package view

import (
	"fmt"
	"io"
	"strings"

	"github.com/mfabulk/mfabulk/internal/plan"
)

// MaxMarkdown is the most a GitHub comment holds, in characters; the
// Markdown plan stays within it, counted in bytes (never fewer).
const MaxMarkdown = 65536

// PlanMarkdown writes p for a pull-request comment or
// $GITHUB_STEP_SUMMARY: a warning when apply would refuse it, the counts
// that are not zero, who can decrypt the new secrets, then the changes as
// a list (long paths wrap cleanly there, not in a narrow table cell), in a
// collapsible section. A plan too long for one comment (see MaxMarkdown)
// shows its first changes and says how many more there are and where to
// see them.
func PlanMarkdown(w io.Writer, p plan.Plan) { markdownWithin(w, p, MaxMarkdown) }

// markdownWithin is PlanMarkdown within limit characters (as far as the
// head allows), for a share of a comment of several accounts.
func markdownWithin(w io.Writer, p plan.Plan, limit int) {
	var head strings.Builder
	fmt.Fprintf(&head, "### mfabulk plan for account %s\n\n", p.Account)
	if r := Refusal(p); r != "" {
		fmt.Fprintf(&head, "> [!WARNING]\n> **%s** Fix every conflict first:\n>\n", r)
		for _, c := range p.Filter(plan.Conflict) {
			fmt.Fprintf(&head, "> - `%s%s`: %s\n", mdCode(c.Path), mdCode(c.Name), mdEscape(c.Reason))
			if head.Len() > limit/4 {
				fmt.Fprintf(&head, "> - …\n")
				break
			}
		}
		head.WriteString("\n")
	}
	if !p.HasChanges() {
		fmt.Fprintf(&head, "**No changes.** %d device(s) match the manifest.\n\n", p.Count(plan.Unchanged)+p.Count(plan.Refused))
	}
	var counts []string
	for _, a := range plan.Actions {
		if n := p.Count(a); n > 0 {
			counts = append(counts, fmt.Sprintf("| %s | %d |", a, n))
		}
	}
	if len(counts) > 0 {
		fmt.Fprintf(&head, "| action | devices |\n|---|---:|\n%s\n", strings.Join(counts, "\n"))
	}
	shared := sharedReview(p)
	if shared.recipientsShared {
		fmt.Fprintf(&head, "\n**Sealed to** (who can decrypt every new secret): %s\n", mdRecipients(shared.recipients))
	}
	if shared.tagsShared && len(shared.tags) > 0 {
		fmt.Fprintf(&head, "\n**Tagged** (every new device): `%s`\n", mdCode(tagList(shared.tags)))
	}

	var items []string
	for _, c := range p.Changes {
		if c.Action == plan.Unchanged {
			continue
		}
		items = append(items, mdChange(c, shared))
	}
	for _, n := range p.Notices {
		label := "journal"
		switch {
		case n.InProgress:
			label = "in progress"
		case n.Local:
			label = "outfile"
		}
		items = append(items, fmt.Sprintf("- ⚠ **%s** `%s`: %s\n", label, mdCode(n.Device), mdEscape(n.Message)))
	}
	var tail string
	if len(p.Unlisted) > 0 {
		tail = fmt.Sprintf("\n%d device(s) in scope are not in the manifest; `plan --prune` shows them as deletions.\n", len(p.Unlisted))
	}

	io.WriteString(w, head.String())
	if len(items) == 0 {
		io.WriteString(w, tail)
		return
	}
	open := fmt.Sprintf("\n<details><summary>%d change(s) and notice(s)</summary>\n\n", len(items))
	const closing = "\n</details>\n"
	const more = "\n**… and %d more change(s) or notice(s) not shown:** a GitHub comment holds %d characters. See them all with `mfabulk show-plan plan.json -o markdown` (a plan saved with `plan --out plan.json`) or in `plan -o json`.\n"
	budget := limit - head.Len() - len(open) - len(closing) - len(tail) - len(more) - 20
	shown := 0
	var body strings.Builder
	for _, it := range items {
		if body.Len()+len(it) > budget {
			break
		}
		body.WriteString(it)
		shown++
	}
	io.WriteString(w, open+body.String())
	if shown < len(items) {
		fmt.Fprintf(w, more, len(items)-shown, MaxMarkdown)
	}
	io.WriteString(w, closing+tail)
}

// mdChange is one change as a list item: the action and the device in
// code, then its details, and for creates, replaces and assigns the tags
// and recipients when they are not shared by every such change.
func mdChange(c plan.Change, shared review) string {
	var b strings.Builder
	fmt.Fprintf(&b, "- **%s %s** `%s%s`", symbols[c.Action].sym, c.Action, mdCode(c.Path), mdCode(c.Name))
	if d := details(c); d != "" {
		b.WriteString(" — " + d)
	}
	b.WriteString("\n")
	if c.Action == plan.UpdateTags {
		for _, t := range c.Tags {
			fmt.Fprintf(&b, "  - `%s`: %s → %s\n", mdCode(t.Key), mdEscape(tagValue(t.Before)), mdEscape(tagValue(t.After)))
		}
	}
	if c.Reviewed() {
		if !shared.tagsShared && len(c.Desired.Tags) > 0 {
			fmt.Fprintf(&b, "  - tagged `%s`\n", mdCode(tagList(c.Desired.Tags)))
		}
		if !shared.recipientsShared {
			fmt.Fprintf(&b, "  - sealed to %s\n", mdRecipients(c.Desired.Recipients))
		}
	}
	return b.String()
}

func mdRecipients(keys []string) string {
	if len(keys) == 0 {
		return "(none)"
	}
	parts := shortRecipients(keys)
	for i, s := range parts {
		parts[i] = "`" + mdCode(s) + "`"
	}
	return strings.Join(parts, ", ")
}

func details(c plan.Change) string {
	switch c.Action {
	case plan.Create:
		return mdEscape(c.Desired.Bootstrap) + " → `" + mdCode(rel(c.Desired.Outfile)) + "`" + mdEscape(assignTo(c))
	case plan.Replace, plan.Assign:
		return mdEscape(c.Reason) + "; new secret → `" + mdCode(rel(c.Desired.Outfile)) + "`" + mdEscape(assignTo(c))
	case plan.UpdateTags:
		return ""
	}
	return mdEscape(c.Reason)
}

// mdEscape keeps a value from breaking the Markdown: no HTML, no line
// breaks, no emphasis or links made of a device's name or a reason.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "`", "'", "<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`).Replace(s)
}

// mdCode keeps a value inside `code`: no backtick, no line break.
func mdCode(s string) string {
	return strings.NewReplacer("`", "'", "\n", " ").Replace(s)
}

// assignTo names the user a change enables its device for, if any.
func assignTo(c plan.Change) string {
	if c.EnablesUser() {
		return "; enabled for user " + c.Desired.User
	}
	return ""
}
