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

// maxListed bounds every list in the head of a Markdown plan (the
// conflicts, the devices left undone, the recipients): the head must
// leave room for the changes.
const maxListed = 10

// maxHeadValue bounds a device or a reason in the head's warning; the
// change below shows it whole.
const maxHeadValue = 256

// markdownWithin is PlanMarkdown within limit characters, for a share of a
// comment of several accounts. Every value in the head is bounded (see
// values.go and maxListed), so the head is a few KB whatever the plan
// holds, and the changes fill the rest.
func markdownWithin(w io.Writer, p plan.Plan, limit int) {
	var head strings.Builder
	fmt.Fprintf(&head, "### mfabulk plan for account %s\n\n", mdText(account(p.Account)))
	mdWarnings(&head, p)
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
		fmt.Fprintf(&head, "\n**Tagged** (every new device): %s\n", mdCode(clip(tagList(shared.tags), maxMessage)))
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
		items = append(items, fmt.Sprintf("- ⚠ **%s** %s: %s\n", label, mdCode(noticeDevice(n)), mdText(noticeMessage(n))))
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

// mdWarnings opens the plan with one warning block when apply would
// refuse it (conflicts) or leave devices undone (see leftovers), each
// list bounded by maxListed; the changes below list every device.
func mdWarnings(b *strings.Builder, p plan.Plan) {
	refusal, unfinished := Refusal(p), Unfinished(p)
	if refusal == "" && unfinished == "" {
		return
	}
	b.WriteString("> [!WARNING]\n")
	if refusal != "" {
		fmt.Fprintf(b, "> **%s** Fix every conflict first:\n>\n", refusal)
		conflicts := p.Filter(plan.Conflict)
		for i, c := range conflicts {
			if i == maxListed {
				fmt.Fprintf(b, "> - … and %d more (listed below)\n", len(conflicts)-i)
				break
			}
			fmt.Fprintf(b, "> - %s: %s\n", mdCode(clip(changeName(c), maxHeadValue)), mdText(clip(reason(c), maxHeadValue)))
		}
	}
	if unfinished != "" {
		if refusal != "" {
			b.WriteString(">\n")
		}
		fmt.Fprintf(b, "> **%s** A person must act on each first:\n>\n", unfinished)
		ls := leftovers(p)
		for i, l := range ls {
			if i == maxListed {
				fmt.Fprintf(b, "> - … and %d more (listed below)\n", len(ls)-i)
				break
			}
			fmt.Fprintf(b, "> - %s %s: %s\n", l.kind, mdCode(clip(l.device, maxHeadValue)), mdText(clip(l.why, maxHeadValue)))
		}
	}
	b.WriteString("\n")
}

// mdChange is one change as a list item: the action and the device in
// code, then its details, and for creates, replaces and assigns the tags
// and recipients when they are not shared by every such change.
func mdChange(c plan.Change, shared review) string {
	var b strings.Builder
	fmt.Fprintf(&b, "- **%s %s** %s", symbols[c.Action].sym, c.Action, mdCode(changeName(c)))
	if d := details(c); d != "" {
		b.WriteString(" — " + d)
	}
	b.WriteString("\n")
	if c.Action == plan.UpdateTags {
		for _, t := range c.Tags {
			fmt.Fprintf(&b, "  - %s: %s → %s\n", mdCode(tagKey(t.Key)), mdTagValue(t.Before), mdTagValue(t.After))
		}
	}
	if c.Reviewed() {
		if !shared.tagsShared && len(c.Desired.Tags) > 0 {
			fmt.Fprintf(&b, "  - tagged %s\n", mdCode(clip(tagList(c.Desired.Tags), maxMessage)))
		}
		if !shared.recipientsShared {
			fmt.Fprintf(&b, "  - sealed to %s\n", mdRecipients(c.Desired.Recipients))
		}
	}
	return b.String()
}

// mdRecipients lists the first maxListed recipients in code, each in its
// short form (escaped and cut), then how many more there are.
func mdRecipients(keys []string) string {
	if len(keys) == 0 {
		return "(none)"
	}
	parts := shortRecipients(keys[:min(len(keys), maxListed)])
	for i, s := range parts {
		parts[i] = mdCode(s)
	}
	s := strings.Join(parts, ", ")
	if n := len(keys) - len(parts); n > 0 {
		s += fmt.Sprintf(" and %d more; see `plan -o json`", n)
	}
	return s
}

func details(c plan.Change) string {
	switch c.Action {
	case plan.Create:
		return mdText(bootstrap(c)) + " → " + mdCode(outfile(c)) + mdAssign(c)
	case plan.Replace, plan.Assign:
		return mdText(reason(c)) + "; new secret → " + mdCode(outfile(c)) + mdAssign(c)
	case plan.UpdateTags:
		return ""
	}
	return mdText(reason(c))
}

// mdTagValue is a tag's value quoted in code, or (none).
func mdTagValue(v *string) string {
	if v == nil {
		return "(none)"
	}
	return mdCode(tagValue(v))
}

// mdAssign names the user a change enables its device for, if any.
func mdAssign(c plan.Change) string {
	if c.EnablesUser() {
		return "; enabled for user " + mdCode(user(c))
	}
	return ""
}
