package view

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/plan/jsonplan"
	"github.com/mfabulk/mfabulk/internal/seal"
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
	plan.Replace:    {"~", "31", "replace"}, // red: replace, assign and delete destroy or reissue a secret
	plan.Assign:     {"~", "31", "assign"},
	plan.UpdateTags: {"~", "33", "update tags"},
	plan.Reseal:     {"~", "33", "reseal"},
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
	if n := Deactivations(p); n > 0 {
		s += fmt.Sprintf(" %d device(s) that users sign in with to deactivate first.", n)
	}
	if n := p.Count(plan.Reseal); n > 0 {
		s += fmt.Sprintf(" %d outfile(s) to re-seal.", n)
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
		writeWarnings(w, p, st)
		fmt.Fprintf(w, "No changes. %d device(s) in account %s match the manifest.\n", p.Count(plan.Unchanged)+p.Count(plan.Refused), account(p.Account))
		for _, c := range p.Filter(plan.Refused) {
			writeChange(w, c, st)
		}
		writeNotices(w, p, st)
		writeUnlisted(w, p)
		return
	}
	writeWarnings(w, p, st)
	fmt.Fprintf(w, "mfabulk will perform the following actions in account %s:\n\n", account(p.Account))
	shared := sharedReview(p)
	for _, c := range p.Changes {
		writeChange(w, c, st)
		if c.Reviewed() {
			if !shared.tagsShared {
				writeTags(w, newTags(c), st)
			}
			if !shared.recipientsShared {
				fmt.Fprintf(w, "        sealed to: %s\n", strings.Join(shortRecipients(c.Desired.Recipients), ", "))
			}
		}
	}
	writeNotices(w, p, st)
	writeResealNote(w, p, st)
	if shared.recipientsShared {
		fmt.Fprintf(w, "\nSealed to: %s (every new secret)\n", strings.Join(shortRecipients(shared.recipients), ", "))
	}
	writeStoresText(w, p)
	if shared.tagsShared && len(shared.tags) > 0 {
		fmt.Fprintf(w, "Tagged: %s (every new device)\n", tagList(shared.tags))
	}
	fmt.Fprintf(w, "\n%s\n", Summary(p))
	writeUnlisted(w, p)
	if n := p.Count(plan.Conflict); n > 0 {
		fmt.Fprintf(w, "\n%s\n", st.paint("1;31", Refusal(p)))
	}
}

// writeWarnings opens a plan with what apply would refuse or leave
// undone, so that nobody reads the changes as what apply will do without
// seeing it; the devices are listed with "!" below.
func writeWarnings(w io.Writer, p plan.Plan, st Style) {
	warned := false
	for _, s := range []string{Refusal(p), Unfinished(p)} {
		if s != "" {
			fmt.Fprintln(w, st.paint("1;31", "Warning: "+s))
			warned = true
		}
	}
	if warned {
		fmt.Fprintln(w)
	}
}

// Refusal is the line that says apply would refuse p; "" when it would
// not.
func Refusal(p plan.Plan) string {
	if p.Applyable() == nil {
		return ""
	}
	return fmt.Sprintf("Apply would refuse this plan: %d device(s) in conflict.", p.Count(plan.Conflict))
}

// review is what the reviewed changes (create, replace, assign) have in
// common: the recipients and tags, shown once when every one shares them.
type review struct {
	recipientsShared, tagsShared bool
	recipients                   []string
	tags                         map[string]string
}

func sharedReview(p plan.Plan) review {
	r := review{recipientsShared: true, tagsShared: true}
	first := true
	for _, c := range p.Changes {
		if !c.Reviewed() {
			continue
		}
		if first {
			r.recipients, r.tags, first = c.Desired.Recipients, c.Desired.Tags, false
			continue
		}
		r.recipientsShared = r.recipientsShared && slices.Equal(r.recipients, c.Desired.Recipients)
		r.tagsShared = r.tagsShared && maps.Equal(r.tags, c.Desired.Tags)
	}
	if first { // nothing to review
		return review{}
	}
	return r
}

// shortRecipients names each recipient so that a reviewer can tell them
// apart and a swapped key shows in a diff: an age key's head and tail
// (age1abcdefgh…uvwxyz), with its kind when it is not a classic X25519 key
// ("post-quantum", "tag key, hardware not verified": nothing in a tag key
// says where its private key is), an SSH key's type, fingerprint and comment.
func shortRecipients(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = shortRecipient(k)
	}
	return out
}

// shortRecipient is escaped (Text), and an SSH key's type and comment are
// cut, so that a recipients file can neither draw on a terminal nor fill a
// pull-request comment with one key. The comment is quoted (strconv.Quote)
// so that it cannot end its own field: a comment "), age1… (" would
// otherwise read as a second recipient in a "Sealed to:" line.
func shortRecipient(key string) string {
	r := jsonplan.DescribeRecipient(key)
	if strings.HasPrefix(key, "age1") && len(key) > 20 {
		// The head keeps the kind's prefix (age1pq1, age1tag1,
		// age1tagpq1) and 8 characters of the key after it.
		head := 12
		if i := strings.LastIndexByte(key[:min(len(key), 16)], '1'); i >= 0 && i+9 < len(key)-6 {
			head = i + 9
		}
		s := Text(key[:head]) + "…" + Text(key[len(key)-6:])
		if note := kindNote(r.Kind); note != "" {
			s += " (" + note + ")"
		}
		return s
	}
	s := clip(sshKeyType(key), maxKeyType)
	if r.Fingerprint != "" {
		s += " " + Text(r.Fingerprint)
	}
	if r.Comment != "" {
		s += " " + quoted(r.Comment, maxComment)
	}
	return s
}

// kindNote is what a "Sealed to:" line says of an age key that is not a
// classic X25519 key, by its jsonplan kind.
func kindNote(kind string) string {
	switch kind {
	case seal.PostQuantum.String():
		return "post-quantum"
	case seal.Tag.String():
		return "tag key, hardware not verified"
	case seal.TagPQ.String():
		return "tag key, post-quantum, hardware not verified"
	}
	return ""
}

func sshKeyType(s string) string {
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i]
	}
	return s
}

// newTags are the tags a reviewed change gives its new device, as added
// tag changes.
func newTags(c plan.Change) []plan.TagChange {
	var out []plan.TagChange
	for _, k := range slices.Sorted(maps.Keys(c.Desired.Tags)) {
		out = append(out, plan.TagChange{Key: k, After: ptr(c.Desired.Tags[k])})
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func tagList(tags map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		parts = append(parts, tagKey(k)+"="+quoted(tags[k], maxValue))
	}
	return strings.Join(parts, ", ")
}

// writeTags writes one line per tag change, green for an added key, red
// for a removed one and yellow for a changed value.
func writeTags(w io.Writer, tags []plan.TagChange, st Style) {
	for _, t := range tags {
		fmt.Fprintf(w, "        %s\n", st.paint(tagColor(t), tagKey(t.Key)+": "+tagValue(t.Before)+" → "+tagValue(t.After)))
	}
}

func tagColor(t plan.TagChange) string {
	switch {
	case t.Before == nil:
		return "32"
	case t.After == nil:
		return "31"
	}
	return "33"
}

// writeNotices lists devices another run is working on and journal files
// the plan did not trust.
func writeNotices(w io.Writer, p plan.Plan, st Style) {
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
		fmt.Fprintf(w, "%s %s: %s\n", st.paint("35", fmt.Sprintf("  ! %-11s", label)), noticeDevice(n), noticeMessage(n))
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
	head := st.paint(s.color, fmt.Sprintf("  %s %-11s", s.sym, s.label)) + " " + changeName(c)
	if c.EnablesUser() {
		head += " → " + user(c)
	}
	switch c.Action {
	case plan.Create:
		fmt.Fprintf(w, "%s  (%s → %s)\n", head, bootstrap(c), outfile(c))
	case plan.Replace, plan.Assign:
		fmt.Fprintf(w, "%s: %s (new secret → %s)\n", head, reason(c), outfile(c))
	case plan.UpdateTags:
		fmt.Fprintln(w, head)
		writeTags(w, c.Tags, st)
	case plan.Reseal:
		fmt.Fprintf(w, "%s: %s (→ %s)\n", head, reason(c), outfile(c))
		writeReseal(w, c, st)
	default:
		fmt.Fprintf(w, "%s: %s\n", head, reason(c))
	}
	if s := consequence(c); s != "" {
		// Loud: a person loses their MFA sign-in for a while.
		fmt.Fprintf(w, "        %s\n", st.paint("1;31", "! deactivates the device first: "+s))
	}
}

// Deactivations counts the changes that deactivate a device a user has.
func Deactivations(p plan.Plan) int {
	n := 0
	for _, c := range p.Changes {
		if c.Consequence() != "" {
			n++
		}
	}
	return n
}

func tagValue(v *string) string {
	if v == nil {
		return "(none)"
	}
	return quoted(*v, maxValue)
}

func writeUnlisted(w io.Writer, p plan.Plan) {
	if len(p.Unlisted) == 0 {
		return
	}
	names := make([]string, len(p.Unlisted))
	for i, o := range p.Unlisted {
		names[i] = deviceName(o.Path, o.Name)
	}
	fmt.Fprintf(w, "\n%d device(s) in scope are not in the manifest (%s); plan --prune shows them as deletions.\n",
		len(names), strings.Join(names, ", "))
}
