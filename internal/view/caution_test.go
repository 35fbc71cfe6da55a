package view

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"

	"github.com/yuin/goldmark/ast"
	"golang.org/x/crypto/ssh"

	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
)

// freshKey is a fresh SSH public key with comment, and its fingerprint.
func freshKey(t *testing.T, comment string) (key, fingerprint string) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(p))) + " " + comment, ssh.FingerprintSHA256(p)
}

// sshKeys are n fresh SSH keys, each with a long comment starting with tag.
func sshKeys(t *testing.T, n int, tag string) []string {
	var keys []string
	for i := range n {
		k, _ := freshKey(t, fmt.Sprintf("%s%02d%s", tag, i, strings.Repeat("c", 60)))
		keys = append(keys, k)
	}
	return keys
}

// enabling is a create that seals a new device to recipients and enables
// it for user.
func enabling(name, user string, recipients []string) plan.Change {
	return plan.Change{Action: plan.Create, Name: name, Path: "/", Desired: &manifest.Device{Name: name, Path: "/", Bootstrap: "QRCodePNG",
		Outfile: "/w/" + name + strings.Repeat("o", 200) + ".age", Recipients: recipients, User: user}}
}

// opensWithCaution tells whether the first block after the document's
// first heading is a block quote whose text starts with [!CAUTION].
func opensWithCaution(t *testing.T, src []byte) bool {
	t.Helper()
	doc := parseMarkdown(t, src)
	h := doc.FirstChild()
	if h == nil || h.Kind() != ast.KindHeading || h.NextSibling() == nil {
		return false
	}
	q := h.NextSibling()
	return q.Kind() == ast.KindBlockquote && strings.HasPrefix(inlineText(q, src), "[!CAUTION]")
}

// hasCaution tells whether any block quote of src starts with [!CAUTION].
func hasCaution(t *testing.T, src []byte) bool {
	found := false
	ast.Walk(parseMarkdown(t, src), func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering && n.Kind() == ast.KindBlockquote && strings.HasPrefix(inlineText(n, src), "[!CAUTION]") {
			found = true
		}
		return ast.WalkContinue, nil
	})
	return found
}

// reviewable asserts what a reviewer of out must be able to rely on: it
// shows the attacker's key and the user ceo, or it opens with a caution
// saying it does not show everything.
func reviewable(t *testing.T, out []byte, fingerprint string) {
	t.Helper()
	if len(out) > MaxMarkdown {
		t.Errorf("Markdown is %d bytes, want at most %d", len(out), MaxMarkdown)
	}
	shown := bytes.Contains(out, []byte(fingerprint)) && bytes.Contains(out, []byte("`ceo`"))
	if !shown && !opensWithCaution(t, out) {
		t.Errorf("the attacker's key (%v) or ceo (%v) is not shown and no caution opens the comment:\n%s",
			bytes.Contains(out, []byte(fingerprint)), bytes.Contains(out, []byte("`ceo`")), out[:min(len(out), 3000)])
	}
}

// Forty sets of one device each, each its own recipients and user, sort
// before the attacker's set and push it, and ceo, out of the head; the
// items do not all fit either.
func TestPlanMarkdownCautionsWhenSetsAreLeftOut(t *testing.T) {
	attacker, fp := freshKey(t, "ATTACKER")
	var cs []plan.Change
	for i := range 40 {
		cs = append(cs, enabling(fmt.Sprintf("pad%02d", i), fmt.Sprintf("user%02d", i), sshKeys(t, 8, fmt.Sprintf("s%d-", i))))
	}
	cs = append(cs, enabling("zzz", "ceo", append(sshKeys(t, 9, "x"), attacker)))
	var b bytes.Buffer
	PlanMarkdown(&b, plan.Plan{Account: "123456789012", Changes: cs})
	reviewable(t, b.Bytes(), fp)
}

// An attacker's key eleventh in a set every device shares shows only as
// "and 1 more".
func TestPlanMarkdownCautionsWhenARecipientIsLeftOut(t *testing.T) {
	attacker, fp := freshKey(t, "ATTACKER")
	var b bytes.Buffer
	PlanMarkdown(&b, plan.Plan{Account: "123456789012", Changes: []plan.Change{enabling("a", "ceo", append(sshKeys(t, 10, "team"), attacker))}})
	reviewable(t, b.Bytes(), fp)
}

// Among five or more accounts, the attacker's account, bloated, collapses
// to one line: its head must not vanish unsaid.
func TestPlansMarkdownCautionsWhenAnAccountIsCut(t *testing.T) {
	attacker, fp := freshKey(t, "ATTACKER")
	var cs []plan.Change
	for i := range 21 {
		cs = append(cs, enabling(fmt.Sprintf("pad%02d", i), fmt.Sprintf("user%02d", i), sshKeys(t, 10, fmt.Sprintf("s%d-", i))))
	}
	cs = append(cs, enabling("zzz", "ceo", []string{attacker}))
	honest := plan.Plan{Account: "111111111111", Changes: []plan.Change{enabling("ok", "alice", sshKeys(t, 1, "esc"))}}
	for _, n := range []int{2, 4, 5, 6, 8} {
		as := []AccountPlan{{Account: "111111111111", Plan: &honest}, {Account: "222222222222", Plan: &plan.Plan{Account: "222222222222", Changes: cs}}}
		for len(as) < n {
			as = append(as, AccountPlan{Account: fmt.Sprintf("33333333333%d", len(as)), Plan: &honest})
		}
		var b bytes.Buffer
		PlansMarkdown(&b, as)
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			reviewable(t, b.Bytes(), fp)
			if !opensWithCaution(t, b.Bytes()) || !bytes.Contains(b.Bytes(), []byte("`222222222222`")) {
				t.Errorf("no caution naming account 222222222222 opens the comment:\n%s", b.Bytes()[:min(b.Len(), 2000)])
			}
		})
	}
}

// A plan shown whole, alone or among accounts, has no caution.
func TestPlanMarkdownShownWholeHasNoCaution(t *testing.T) {
	p := plan.Plan{Account: "111111111111", Changes: []plan.Change{
		enabling("a", "alice", sshKeys(t, 10, "team")), enabling("b", "bob", sshKeys(t, 3, "ops")),
	}}
	var b bytes.Buffer
	PlanMarkdown(&b, p)
	if hasCaution(t, b.Bytes()) {
		t.Errorf("a plan shown whole has a caution:\n%s", b.Bytes())
	}
	q := p
	q.Account = "222222222222"
	b.Reset()
	PlansMarkdown(&b, []AccountPlan{{Account: p.Account, Plan: &p}, {Account: q.Account, Plan: &q}})
	if hasCaution(t, b.Bytes()) {
		t.Errorf("accounts shown whole have a caution:\n%s", b.Bytes())
	}
}

// The caution is bounded whatever it counts.
func TestCautionIsBounded(t *testing.T) {
	o := omitted{sets: 1 << 40, recipients: 1 << 40, users: 1 << 40, changes: 1 << 40, entries: 1 << 40}
	for range 5000 {
		o.accounts = append(o.accounts, strings.Repeat("9", 10000))
	}
	if n := len(mdCaution(o)); n > 4096 {
		t.Errorf("caution is %d bytes, want at most 4096", n)
	}
}

// Thousands of accounts cut the table itself: the accounts past the cut
// are named by the caution, which still opens the comment.
func TestPlansMarkdownCautionsWhenTheTableIsCut(t *testing.T) {
	var b bytes.Buffer
	PlansMarkdown(&b, accountPlans(3000, 1))
	if b.Len() > MaxMarkdown {
		t.Errorf("Markdown is %d bytes, want at most %d", b.Len(), MaxMarkdown)
	}
	if !opensWithCaution(t, b.Bytes()) {
		t.Errorf("a cut table does not open with a caution:\n%s", b.Bytes()[:min(b.Len(), 1500)])
	}
}
