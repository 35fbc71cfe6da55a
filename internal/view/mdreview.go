package view

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mfabulk/mfabulk/internal/plan"
)

// maxUsers bounds the users the head of a Markdown plan names.
const maxUsers = 20

// mdReview writes, in the head of a Markdown plan, what a reviewer must
// see of every reviewed change (create, replace, assign) whether or not
// its item fits in the list below: who can decrypt the new secrets, where
// they are written (mdStores), the tags when every new device shares them, and the users the new devices
// are enabled for. Padding changes can push any change out of the list;
// they cannot push it out of these lines, each of them bounded; what the
// bounds leave out is counted in what it returns.
func mdReview(b *strings.Builder, p plan.Plan, shared review) omitted {
	var o omitted
	if shared.recipientsShared {
		s, n := mdRecipientsLeft(shared.recipients)
		o.recipients += n
		fmt.Fprintf(b, "\n**Sealed to** (who can decrypt every new secret): %s\n", s)
	} else if sets := recipientSets(p); len(sets) > 0 {
		fmt.Fprintf(b, "\n**Sealed to** (who can decrypt the new secrets: %d different sets of recipients, the fewest devices first):\n\n", len(sets))
		for i, s := range sets {
			if i == maxListed {
				fmt.Fprintf(b, "- … and %d more set(s); see `plan -o json`\n", len(sets)-i)
				o.sets += len(sets) - i
				break
			}
			keys, n := mdRecipientsLeft(s.keys)
			o.recipients += n
			fmt.Fprintf(b, "- %d device(s): %s\n", s.devices, keys)
		}
	}
	o.stores += mdStores(b, p)
	if shared.tagsShared && len(shared.tags) > 0 {
		fmt.Fprintf(b, "\n**Tagged** (every new device): %s\n", mdTags(shared.tags))
	}
	if users := enabledUsers(p); len(users) > 0 {
		parts := make([]string, 0, maxUsers)
		for _, u := range users[:min(len(users), maxUsers)] {
			parts = append(parts, mdCode(clip(u, maxHeadValue)))
		}
		s := strings.Join(parts, ", ")
		if n := len(users) - len(parts); n > 0 {
			s += fmt.Sprintf(" and %d more; see `plan -o json`", n)
			o.users += n
		}
		fmt.Fprintf(b, "\n**Enabled for user(s)** (a new device each): %s\n", s)
	}
	return o
}

// recipientSet is one list of recipients and how many reviewed changes
// seal to it.
type recipientSet struct {
	keys    []string
	devices int
}

// recipientSets are the distinct recipient lists of the reviewed
// changes, the fewest devices first (then in plan order): the set only
// one device is sealed to, such as one with an extra key, is the one a
// reviewer must not miss, and it comes first however many sets there are.
func recipientSets(p plan.Plan) []recipientSet {
	var sets []recipientSet
	index := map[string]int{}
	for _, c := range p.Changes {
		if !c.Reviewed() {
			continue
		}
		var key strings.Builder // each key with its length: no two lists make the same
		for _, k := range c.Desired.Recipients {
			fmt.Fprintf(&key, "%d:%s", len(k), k)
		}
		i, ok := index[key.String()]
		if !ok {
			i = len(sets)
			index[key.String()] = i
			sets = append(sets, recipientSet{keys: c.Desired.Recipients})
		}
		sets[i].devices++
	}
	slices.SortStableFunc(sets, func(a, b recipientSet) int { return a.devices - b.devices })
	return sets
}

// enabledUsers are the distinct users the changes enable a new device
// for, in plan order.
func enabledUsers(p plan.Plan) []string {
	var users []string
	seen := map[string]bool{}
	for _, c := range p.Changes {
		if c.EnablesUser() && !seen[c.Desired.User] {
			seen[c.Desired.User] = true
			users = append(users, c.Desired.User)
		}
	}
	return users
}
