package view

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/mfabulk/mfabulk/internal/plan"
)

// MaxMarkdown is the most a GitHub comment holds, in characters; the
// Markdown plan stays within it, counted in bytes (never fewer).
const MaxMarkdown = 65536

// PlanMarkdown writes p for a pull-request comment or
// $GITHUB_STEP_SUMMARY: a warning when apply would refuse it, the counts
// that are not zero, who can decrypt the new secrets and which users the
// new devices are enabled for, then the changes as a list (long paths
// wrap cleanly there, not in a narrow table cell), in a collapsible
// section. A plan too long for one comment (see MaxMarkdown) shows the
// changes that fit and says how many more there are and where to see
// them all; the head above the list speaks for every change, shown or not.
func PlanMarkdown(w io.Writer, p plan.Plan) { markdownWithin(w, p, MaxMarkdown) }

// maxListed bounds every list in the head of a Markdown plan (the
// conflicts, the devices left undone, the recipients of a set, the sets):
// the head must leave room for the changes.
const maxListed = 10

// maxHeadValue bounds a device or a reason in the head's warning; the
// change below shows it whole.
const maxHeadValue = 256

// markdownWithin is PlanMarkdown within limit characters, for a share of a
// comment of several accounts. Every value in the head is bounded (see
// values.go and maxListed), so the head is a few KB whatever the plan
// holds, and the changes fill the rest. Each change is bounded too (see
// maxItem); one that does not fit what is left is skipped and counted, so
// that one long change neither hides the others nor makes the count of
// those not shown wrong.
//
// Whatever it leaves out that a reviewer must check (see omitted) opens
// it, right after the title, with a caution (see mdCaution); it returns
// what it left out, for the caution of a comment of several accounts.
func markdownWithin(w io.Writer, p plan.Plan, limit int) omitted {
	title := fmt.Sprintf("### mfabulk plan for account %s\n\n", mdCode(account(p.Account)))
	var head strings.Builder
	entries := mdWarnings(&head, p)
	mdDeactivations(&head, p)
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
	left := mdReview(&head, p, shared)

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
		case n.Store:
			label = "store"
		}
		items = append(items, fmt.Sprintf("- ⚠ **%s** %s: %s\n", label, mdCode(noticeDevice(n)), mdCode(cut(noticeMessage(n), maxValue))))
	}
	var tail string
	if len(p.Unlisted) > 0 {
		tail = fmt.Sprintf("\n%d device(s) in scope are not in the manifest; `plan --prune` shows them as deletions.\n", len(p.Unlisted))
	}
	if p.Count(plan.Reseal) > 0 {
		tail += "\n> **Caution:** " + ResealCaution + "\n"
	}

	if len(items) == 0 {
		io.WriteString(w, title+mdCaution(left)+head.String()+tail)
		return left
	}
	open := fmt.Sprintf("\n<details><summary>%d change(s) and notice(s)</summary>\n\n", len(items))
	const closing = "\n</details>\n"
	const more = "\n**… and %d more change(s) or notice(s) not shown:** a GitHub comment holds %d characters. See every change with `mfabulk show-plan plan.json` (a plan saved with `plan --out plan.json`), `plan -o text` or `plan -o json`.\n"
	budget := limit - len(title) - head.Len() - len(open) - len(closing) - len(tail) - len(more) - 20
	body, hidden := fill(items, budget)
	if left.any() || hidden > 0 {
		// The caution takes room from the list: fill it again without that
		// room (the caution's numbers may grow by a few digits).
		o := left
		o.changes = len(items)
		o.entries = max(1, entries)
		body, hidden = fill(items, budget-len(mdCaution(o))-16)
	}
	left.changes = hidden
	if hidden > 0 {
		left.entries = entries
	}
	io.WriteString(w, title+mdCaution(left)+head.String()+open+body)
	if hidden > 0 {
		fmt.Fprintf(w, more, hidden, MaxMarkdown)
	}
	io.WriteString(w, closing+tail)
	return left
}

// fill is the items that fit in budget bytes, in order, each skipped that
// does not fit what is left, and how many were skipped.
func fill(items []string, budget int) (string, int) {
	hidden := 0
	var body strings.Builder
	for _, it := range items {
		if body.Len()+len(it) > budget {
			hidden++
			continue
		}
		body.WriteString(it)
	}
	return body.String(), hidden
}

// mdWarnings opens the plan with one warning block when apply would
// refuse it (conflicts) or leave devices undone (see leftovers), each
// list bounded by maxListed; the changes below list every device. It
// returns how many entries it leaves to the list below.
func mdWarnings(b *strings.Builder, p plan.Plan) int {
	refusal, unfinished := Refusal(p), Unfinished(p)
	if refusal == "" && unfinished == "" {
		return 0
	}
	left := 0
	b.WriteString("> [!WARNING]\n")
	if refusal != "" {
		fmt.Fprintf(b, "> **%s** Fix every conflict first:\n>\n", refusal)
		conflicts := p.Filter(plan.Conflict)
		for i, c := range conflicts {
			if i == maxListed {
				fmt.Fprintf(b, "> - … and %d more (listed below)\n", len(conflicts)-i)
				left += len(conflicts) - i
				break
			}
			fmt.Fprintf(b, "> - %s: %s\n", mdCode(clip(c.Path+c.Name, maxHeadValue)), mdCode(clip(c.Reason, maxHeadValue)))
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
				left += len(ls) - i
				break
			}
			fmt.Fprintf(b, "> - %s %s: %s\n", l.kind, mdCode(cut(l.device, maxHeadValue)), mdCode(cut(l.why, maxHeadValue)))
		}
	}
	b.WriteString("\n")
	return left
}

// Bounds of one change in the list, in bytes of Markdown. A change's
// item holds its device (maxValue), one of its kind, reason or outfile and
// user (maxItemText each), its tags (maxItemTags, then how many more) and
// up to maxListed recipients: at most maxItem in all, so that at least a
// dozen changes fit in a comment whatever they hold.
const (
	maxItem     = 4096
	maxItemText = 256
	maxItemTags = 768
)

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
	if s := consequence(c); s != "" {
		fmt.Fprintf(&b, "  - ⚠ **deactivated first:** %s\n", mdCode(cut(s, maxItemText)))
	}
	if c.Action == plan.UpdateTags {
		size := 0
		for i, t := range c.Tags {
			line := fmt.Sprintf("  - %s: %s → %s\n", mdCode(cut(tagKey(t.Key), maxItemText)), mdTagValue(t.Before), mdTagValue(t.After))
			if i > 0 && size+len(line) > maxItemTags {
				fmt.Fprintf(&b, "  - and %d more tag(s); see `plan -o text`\n", len(c.Tags)-i)
				break
			}
			b.WriteString(line)
			size += len(line)
		}
	}
	if c.Action == plan.Reseal {
		mdReseal(&b, c)
	}
	if c.Reviewed() {
		if !shared.tagsShared && len(c.Desired.Tags) > 0 {
			fmt.Fprintf(&b, "  - tagged %s\n", mdTags(c.Desired.Tags))
		}
		if !shared.recipientsShared {
			fmt.Fprintf(&b, "  - sealed to %s\n", mdRecipients(c.Desired.Recipients))
		}
	}
	return b.String()
}

// mdTags is a device's tags in one code span, as many as fit in
// maxItemTags, then how many more.
func mdTags(tags map[string]string) string {
	keys := slices.Sorted(maps.Keys(tags))
	var parts []string
	size := 0
	for _, k := range keys {
		s := cut(tagKey(k), maxItemText) + "=" + quoted(tags[k], maxItemText)
		if len(parts) > 0 && size+len(s)+2 > maxItemTags {
			break
		}
		parts = append(parts, s)
		size += len(s) + 2
	}
	s := mdCode(strings.Join(parts, ", "))
	if n := len(keys) - len(parts); n > 0 {
		s += fmt.Sprintf(" and %d more tag(s); see `plan -o text`", n)
	}
	return s
}

// mdRecipients lists the first maxListed recipients in code, each in its
// short form (escaped and cut), then how many more there are.
func mdRecipients(keys []string) string {
	s, _ := mdRecipientsLeft(keys)
	return s
}

// mdRecipientsLeft is mdRecipients and how many recipients it leaves out.
func mdRecipientsLeft(keys []string) (string, int) {
	if len(keys) == 0 {
		return "(none)", 0
	}
	parts := shortRecipients(keys[:min(len(keys), maxListed)])
	for i, s := range parts {
		parts[i] = mdCode(s)
	}
	s := strings.Join(parts, ", ")
	n := len(keys) - len(parts)
	if n > 0 {
		s += fmt.Sprintf(" and %d more; see `plan -o json`", n)
	}
	return s, n
}

// details are a change's kind, reason and outfile, in code: a value as
// prose would still let GitHub turn @user and #123 into a mention or a
// link, even backslash-escaped.
func details(c plan.Change) string {
	switch c.Action {
	case plan.Create:
		return mdCode(cut(bootstrap(c), maxItemText)) + " → " + mdCode(cut(outfile(c), maxItemText)) + mdAssign(c)
	case plan.Replace, plan.Assign:
		return mdCode(cut(reason(c), maxItemText)) + "; new secret → " + mdCode(cut(outfile(c), maxItemText)) + mdAssign(c)
	case plan.UpdateTags:
		return ""
	case plan.Reseal:
		return mdCode(cut(reason(c), maxItemText)) + " → " + mdCode(cut(outfile(c), maxItemText))
	}
	return mdCode(cut(reason(c), maxItemText))
}

// mdTagValue is a tag's value quoted in code, or (none).
func mdTagValue(v *string) string {
	if v == nil {
		return "(none)"
	}
	return mdCode(quoted(*v, maxItemText))
}

// mdAssign names the user a change enables its device for, if any.
func mdAssign(c plan.Change) string {
	if c.EnablesUser() {
		return "; enabled for user " + mdCode(cut(user(c), maxItemText))
	}
	return ""
}

// mdDeactivations is a caution block in the head when apply deactivates
// devices that users sign in with (a lost phone replaced, a leaver
// pruned): who loses MFA and until when, at most maxListed, each bounded;
// the changes below list every one.
func mdDeactivations(b *strings.Builder, p plan.Plan) {
	n := Deactivations(p)
	if n == 0 {
		return
	}
	fmt.Fprintf(b, "> [!CAUTION]\n> **Apply deactivates %d device(s) that users sign in with:**\n>\n", n)
	i := 0
	for _, c := range p.Changes {
		if c.Consequence() == "" {
			continue
		}
		if i == maxListed {
			fmt.Fprintf(b, "> - … and %d more (listed below)\n", n-i)
			break
		}
		fmt.Fprintf(b, "> - %s: %s\n", mdCode(clip(c.Path+c.Name, maxHeadValue)), mdCode(cut(consequence(c), maxHeadValue)))
		i++
	}
	b.WriteString("\n")
}
