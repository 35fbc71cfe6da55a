package view

import (
	"fmt"
	"strings"
)

// omitted counts what a Markdown plan leaves out that a reviewer must
// check. A bounded comment cannot show unbounded data, so it must never
// look complete when it is not: anything counted here opens the comment
// with a caution (see mdCaution) that says how much is missing and where
// the whole plan is.
type omitted struct {
	sets       int      // recipient sets not listed in the head
	stores     int      // stores new secrets are written to, not listed in the head
	recipients int      // recipients of a listed set shown only as "and N more"
	users      int      // users a new device is enabled for, not named
	changes    int      // change items and notices not in the list
	entries    int      // conflicts and devices left undone, listed neither in the head nor below
	accounts   []string // accounts (several-accounts Markdown) with anything above left out
}

func (o omitted) any() bool {
	return o.sets+o.stores+o.recipients+o.users+o.changes+o.entries > 0 || len(o.accounts) > 0
}

func (o *omitted) add(x omitted) {
	o.sets += x.sets
	o.stores += x.stores
	o.recipients += x.recipients
	o.users += x.users
	o.changes += x.changes
	o.entries += x.entries
}

// mdCaution is the block that opens a Markdown plan that leaves anything
// out, or "" when it shows everything. It is bounded: numbers, and at most
// maxListed accounts, each clipped.
func mdCaution(o omitted) string {
	if !o.any() {
		return ""
	}
	parts := []string{
		fmt.Sprintf("%d recipient set(s)", o.sets),
		fmt.Sprintf("%d recipient(s)", o.recipients),
		fmt.Sprintf("%d user(s)", o.users),
		fmt.Sprintf("%d change(s) or notice(s)", o.changes),
	}
	if o.stores > 0 {
		parts = append(parts, fmt.Sprintf("%d store(s)", o.stores))
	}
	if o.entries > 0 {
		parts = append(parts, fmt.Sprintf("%d conflict(s) or device(s) left undone", o.entries))
	}
	if len(o.accounts) > 0 {
		names := make([]string, 0, maxListed)
		for _, a := range o.accounts[:min(len(o.accounts), maxListed)] {
			names = append(names, mdCode(account(a)))
		}
		s := "parts of account(s) " + strings.Join(names, ", ")
		if n := len(o.accounts) - len(names); n > 0 {
			s += fmt.Sprintf(" and %d more", n)
		}
		parts = append(parts, s)
	}
	return "> [!CAUTION]\n> **This comment does not show everything to review:** " + strings.Join(parts, ", ") +
		" are left out. Read the whole plan before approving: `mfabulk show-plan plan.json` (text, every recipient and user), or the plan job's log.\n\n"
}
