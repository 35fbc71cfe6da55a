package view

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/mfabulk/mfabulk/internal/apply"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/plan/jsonplan"
)

// AccountPlan is one account's part of a run over several accounts: its
// plan, or the error that stopped it before there was one.
type AccountPlan struct {
	Account string
	Role    string     // the role assumed to reach it; "" for the base credentials
	Plan    *plan.Plan // nil when Err stopped the account first, or it was Skipped
	Skipped bool       // no --target named a device of it
	Err     error
}

// status is an account's one-word state for totals and tables.
func (a AccountPlan) status() string {
	switch {
	case a.Err != nil:
		return "failed"
	case a.Skipped:
		return "not targeted"
	case a.Plan.Applyable() != nil:
		return "refused"
	case a.Plan.HasChanges():
		return "changes"
	}
	return "no changes"
}

// totals sums every account's counts by action.
func totals(as []AccountPlan) map[plan.Action]int {
	t := map[plan.Action]int{}
	for _, a := range as {
		if a.Plan == nil {
			continue
		}
		for _, act := range plan.Actions {
			t[act] += a.Plan.Count(act)
		}
	}
	return t
}

// TotalLine is the closing line of a plan over several accounts.
func TotalLine(as []AccountPlan) string {
	t := totals(as)
	failed := 0
	for _, a := range as {
		if a.Err != nil {
			failed++
		}
	}
	return fmt.Sprintf("Total: %d account(s) (%d failed): %d to create, %d to replace, %d to update tags, %d to delete; %d unchanged, %d in conflict, %d refused.",
		len(as), failed, t[plan.Create], t[plan.Replace], t[plan.UpdateTags], t[plan.Delete], t[plan.Unchanged], t[plan.Conflict], t[plan.Refused])
}

// PlansText writes one section per account, each its plan as [PlanText]
// writes it (or its error), then the total line.
func PlansText(w io.Writer, as []AccountPlan, st Style) {
	for i, a := range as {
		if i > 0 {
			fmt.Fprintln(w)
		}
		head := "── account " + account(a.Account)
		if a.Role != "" {
			head += " (role " + value(a.Role) + ")"
		}
		fmt.Fprintln(w, st.paint("1", head+" ──"))
		switch {
		case a.Err != nil:
			fmt.Fprintf(w, "%s %s\n", st.paint("1;31", "Error:"), errText(a.Err))
		case a.Skipped:
			fmt.Fprintln(w, "Not targeted: no --target names a device of this account.")
		default:
			PlanText(w, *a.Plan, st)
		}
	}
	fmt.Fprintf(w, "\n%s\n", TotalLine(as))
}

// PlansMarkdown writes a total table (one row per account), then each
// account's plan as [PlanMarkdown] writes it, each within an equal share
// of [MaxMarkdown]; an account whose section does not fit its share is
// named in one line that says where its plan is, followed by who can
// decrypt its new secrets and which users its devices are enabled for
// when those fit the share. Whatever is left out, in any account, is
// named at the top of the whole comment by one caution (see mdCaution).
func PlansMarkdown(w io.Writer, as []AccountPlan) {
	title := fmt.Sprintf("### mfabulk plan for %d accounts\n\n", len(as))
	var head strings.Builder
	head.WriteString("| account | status | create | replace | update tags | delete | unchanged | conflict |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
	row := func(name, status string, c func(plan.Action) int) {
		fmt.Fprintf(&head, "| %s | %s | %d | %d | %d | %d | %d | %d |\n", name, status,
			c(plan.Create), c(plan.Replace), c(plan.UpdateTags), c(plan.Delete), c(plan.Unchanged), c(plan.Conflict))
	}
	for _, a := range as {
		count := func(plan.Action) int { return 0 }
		if a.Plan != nil {
			count = a.Plan.Count
		}
		row(mdCell(account(a.Account)), a.status(), count)
	}
	t := totals(as)
	row("**total**", "", func(a plan.Action) int { return t[a] })
	var failures strings.Builder
	for _, a := range as {
		if a.Err != nil {
			fmt.Fprintf(&failures, "> - %s: %s\n", mdCode(account(a.Account)), mdCode(errText(a.Err)))
		}
	}
	if failures.Len() > 0 {
		head.WriteString("\n> [!WARNING]\n> Some accounts failed before their plan:\n>\n" + failures.String())
	}
	// Room for the caution: numbers and at most maxListed accounts.
	reserve := len(mdCaution(omitted{sets: 1 << 40, stores: 1 << 40, recipients: 1 << 40, users: 1 << 40, changes: 1 << 40, entries: 1 << 40,
		accounts: slices.Repeat([]string{strings.Repeat("9", maxAccount)}, maxListed+1)}))
	if len(title)+head.Len()+reserve > MaxMarkdown {
		// Thousands of accounts: the table alone is too long.
		s := head.String()[:MaxMarkdown-reserve-len(title)-200]
		s = s[:strings.LastIndex(s, "\n")+1]
		var o omitted
		for _, a := range as[min(len(as), max(0, strings.Count(s, "\n")-2)):] {
			if a.Plan != nil && (a.Plan.HasChanges() || len(a.Plan.Notices) > 0) {
				o.accounts = append(o.accounts, a.Account)
			}
		}
		io.WriteString(w, title+mdCaution(o)+s+"\n**… table cut:** a GitHub comment holds 65536 characters; see every account with `plan -o json`.\n")
		return
	}
	// Each account's section gets an equal share; one that does not fit
	// it gets one bounded line that names it and says where its plan is,
	// with its head's review lines when they fit, so that no account with
	// changes is left out unsaid. Only when even those lines do not fit
	// (hundreds of accounts) does a last line count the accounts it
	// leaves out.
	const notShown = "\n**… and %d more account(s) with changes not shown:** see every account with `plan -o text` or `plan -o json`.\n"
	left := MaxMarkdown - len(title) - reserve - head.Len() - len(notShown) - 20
	share := left / max(1, len(as))
	hidden := 0
	var all omitted
	var sections strings.Builder
	for _, a := range as {
		if a.Plan == nil || !a.Plan.HasChanges() && len(a.Plan.Notices) == 0 {
			continue
		}
		var b strings.Builder
		b.WriteString("\n")
		o := markdownWithin(&b, *a.Plan, share-1)
		if b.Len() > share {
			b.Reset()
			o = collapsed(&b, a, share)
		}
		if hidden > 0 || b.Len() > left {
			hidden++
			all.accounts = append(all.accounts, a.Account)
			continue
		}
		if o.any() {
			all.add(o)
			all.accounts = append(all.accounts, a.Account)
		}
		sections.WriteString(b.String())
		left -= b.Len()
	}
	io.WriteString(w, title+mdCaution(all)+head.String()+sections.String())
	if hidden > 0 {
		fmt.Fprintf(w, notShown, hidden)
	}
}

// collapsed writes the line of an account whose section does not fit its
// share, then its head's review lines (see mdReview) if they fit, and
// returns what it leaves out: every change, and the whole head when it
// does not fit.
func collapsed(b *strings.Builder, a AccountPlan, share int) omitted {
	fmt.Fprintf(b, "\n**Account %s:** its plan is too long for this comment; see `plan -o text` or `plan -o json`.\n", mdCode(account(a.Account)))
	var review strings.Builder
	o := mdReview(&review, *a.Plan, sharedReview(*a.Plan))
	if b.Len()+review.Len() <= share {
		b.WriteString(review.String())
	} else {
		all := omitted{sets: len(recipientSets(*a.Plan)), stores: len(reviewedStores(*a.Plan)), users: len(enabledUsers(*a.Plan))}
		o = all
	}
	o.changes = len(a.Plan.Changes) - a.Plan.Count(plan.Unchanged) + len(a.Plan.Notices)
	return o
}

// JSONPlans is the document of a plan over several accounts.
func JSONPlans(as []AccountPlan, toolVersion string) jsonplan.Accounts {
	wd, _ := os.Getwd()
	doc := jsonplan.Accounts{FormatVersion: jsonplan.AccountsFormatVersion, ToolVersion: toolVersion, Applyable: true, Summary: map[string]int{}}
	for _, a := range as {
		x := jsonplan.Account{Account: a.Account, Role: a.Role, Status: a.status()}
		if a.Err != nil {
			x.Error = a.Err.Error()
			doc.Failed++
		}
		if a.Plan != nil {
			d := jsonplan.From(*a.Plan, toolVersion, wd)
			x.Plan = &d
			doc.HasChanges = doc.HasChanges || d.HasChanges
			doc.Applyable = doc.Applyable && d.Applyable
			for k, v := range d.Summary {
				doc.Summary[k] += v
			}
		}
		doc.Accounts = append(doc.Accounts, x)
	}
	return doc
}

// AccountResult is one account's part of an apply over several accounts.
type AccountResult struct {
	AccountPlan
	Result *apply.Result // nil when the account was not applied
}

// AppliesSummary writes each account's apply summary (as
// [ApplySummary]) or why it was not applied, then a total line.
func AppliesSummary(w io.Writer, rs []AccountResult, st Style) {
	var created, failedDevices, failedAccounts int
	for _, r := range rs {
		fmt.Fprintf(w, "\n%s\n", st.paint("1", "── account "+account(r.Account)+" ──"))
		switch {
		case r.Err != nil:
			failedAccounts++
			fmt.Fprintf(w, "%s %s\n", st.paint("1;31", "Error:"), errText(r.Err))
		case r.Result == nil:
			fmt.Fprintln(w, "Nothing to do.")
		default:
			ApplySummary(w, *r.Result)
			n := len(r.Result.Failed())
			failedDevices += n
			if n > 0 {
				failedAccounts++
			}
			for _, o := range r.Result.Outcomes {
				if o.Err == nil && !o.NotAttempted && o.Action == plan.Create {
					created++
				}
			}
		}
	}
	fmt.Fprintf(w, "\nTotal: %d account(s), %d failed; %d device(s) created, %d device(s) failed.\n", len(rs), failedAccounts, created, failedDevices)
}
