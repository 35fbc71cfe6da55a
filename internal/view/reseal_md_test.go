package view

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/plan"
)

// A re-seal's label holding the characters `\x1b` never reads, in the
// Markdown, like one holding an ESC: labels are quoted there as in the text
// view.
func TestPlanMarkdownResealLabelsAreUnambiguous(t *testing.T) {
	render := func(label string) string {
		p := hostilePlan("", true)
		p.Changes = []plan.Change{{Action: plan.Reseal, Name: "s", Path: "/", Desired: p.Changes[0].Desired,
			Gains: []journal.Recipient{{Fingerprint: "SHA256:x", Label: label}}}}
		var b bytes.Buffer
		PlanMarkdown(&b, p)
		for _, l := range strings.Split(b.String(), "\n") {
			if strings.Contains(l, "gains access") {
				return l
			}
		}
		t.Fatalf("no gains line:\n%s", b.String())
		return ""
	}
	if esc, lit := render("a\x1bb"), render(`a\x1bb`); esc == lit {
		t.Errorf("an ESC and the characters \\x1b read alike: %q", esc)
	}
}

// Thirty recipients gaining access are listed up to ten, then how many
// more, as a change's "sealed to" line is: one re-seal cannot fill the
// comment and push its own item (and who gains access) out of it.
func TestPlanMarkdownBoundsTheResealRecipients(t *testing.T) {
	p := hostilePlan("", true)
	var gains, loses []journal.Recipient
	for i := range 30 {
		gains = append(gains, journal.Recipient{Fingerprint: fmt.Sprintf("SHA256:g%02d", i), Label: fmt.Sprintf("g%02d", i) + strings.Repeat("x", 2000)})
		loses = append(loses, journal.Recipient{Fingerprint: fmt.Sprintf("SHA256:l%02d", i), Label: fmt.Sprintf("l%02d", i) + strings.Repeat("x", 2000)})
	}
	p.Changes = []plan.Change{{Action: plan.Reseal, Name: "s", Path: "/", Desired: p.Changes[0].Desired, Gains: gains, Loses: loses}}
	var b bytes.Buffer
	PlanMarkdown(&b, p)
	md := b.String()
	if strings.Contains(md, "not shown") || !strings.Contains(md, "SHA256:g00") || !strings.Contains(md, "SHA256:l00") {
		t.Errorf("the re-seal is not in the list:\n%.2000s", md)
	}
	if strings.Contains(md, "SHA256:g10") || !strings.Contains(md, "and 20 more") {
		t.Errorf("want ten gains and \"and 20 more\":\n%.2000s", md)
	}
}

// A saved plan is outside input: a re-seal's fingerprint from an edited
// one is cut in the text view, as every other value is.
func TestPlanTextBoundsTheResealFingerprint(t *testing.T) {
	p := hostilePlan("", true)
	long := "SHA256:" + strings.Repeat("f", 100000)
	p.Changes = []plan.Change{{Action: plan.Reseal, Name: "s", Path: "/", Desired: p.Changes[0].Desired,
		Gains: []journal.Recipient{{Fingerprint: long}}, Loses: []journal.Recipient{{Fingerprint: long, Label: "l"}}}}
	var b bytes.Buffer
	PlanText(&b, p, Style{})
	if b.Len() > 8000 {
		t.Errorf("the text plan is %d bytes for two fingerprints of 100,007", b.Len())
	}
}
