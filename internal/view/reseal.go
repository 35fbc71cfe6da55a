package view

import (
	"fmt"
	"io"
	"strings"

	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/plan"
)

// ResealCaution is what re-sealing cannot do, said wherever a plan
// re-seals: it changes who can decrypt the outfile from now on, not who
// could before.
const ResealCaution = "Re-sealing does not revoke: a recipient who loses access may have kept a copy of the outfile or of the seed, " +
	"and older copies stay readable with the old keys (the outfile's older versions in a versioned S3 bucket, NAME.replaced-* files beside it). " +
	"To revoke access, replace the device: apply --replace NAME (it issues a new secret)."

// recipientName is a recipient for people: its fingerprint, and its
// label (an SSH key's comment, or an age key's short form) quoted.
func recipientName(r journal.Recipient) string {
	if r.Label == "" {
		return clip(r.Fingerprint, maxValue)
	}
	return clip(r.Fingerprint, maxValue) + " " + quoted(r.Label, maxValue)
}

// writeReseal writes a re-seal's who gains and who loses access.
func writeReseal(w io.Writer, c plan.Change, st Style) {
	for _, r := range c.Gains {
		fmt.Fprintf(w, "        %s %s\n", st.paint("32", "+ gains access:"), recipientName(r))
	}
	for _, r := range c.Loses {
		fmt.Fprintf(w, "        %s %s\n", st.paint("31", "- loses access:"), recipientName(r))
	}
	if len(c.Tags) > 0 {
		writeTags(w, c.Tags, st)
	}
}

// writeResealNote says, under a plan with re-seals, what re-sealing
// cannot do, and that apply needs an identity for them.
func writeResealNote(w io.Writer, p plan.Plan, st Style) {
	if p.Count(plan.Reseal) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s\n", st.paint("33", "Caution: "+ResealCaution))
	fmt.Fprintln(w, "Re-sealing decrypts each outfile in memory: apply needs -i FILE, an identity that can decrypt it now (the old escrow key, say).")
}

// ResealsPending is the line a run given no identity ends with when the
// plan has re-seals: they are left for a run that has one.
func ResealsPending(n int) string {
	return fmt.Sprintf("%d outfile(s) left to re-seal (their recipients are not the manifest's): run apply again with -i FILE, an identity that can decrypt them now, e.g. mfabulk apply -i escrow-old.key", n)
}

// mdReseal lists a re-seal's who gains and who loses access, the first
// maxListed of each, then how many more: a change's item stays within
// maxItem, as its "sealed to" line does.
func mdReseal(b *strings.Builder, c plan.Change) {
	for _, l := range []struct {
		what string
		rs   []journal.Recipient
	}{{"➕ gains access", c.Gains}, {"➖ loses access", c.Loses}} {
		for i, r := range l.rs {
			if i == maxListed {
				fmt.Fprintf(b, "  - %s: and %d more; see `plan -o text`\n", l.what, len(l.rs)-i)
				break
			}
			fmt.Fprintf(b, "  - %s: %s\n", l.what, mdRecipientName(r))
		}
	}
}

// mdRecipientName is recipientName in code: the label quoted, so that
// one holding the characters \x1b never reads like one holding an ESC.
func mdRecipientName(r journal.Recipient) string {
	fp := mdCode(cut(Text(r.Fingerprint), maxItemText))
	if r.Label == "" {
		return fp
	}
	return fp + " " + mdCode(quoted(r.Label, maxItemText))
}
