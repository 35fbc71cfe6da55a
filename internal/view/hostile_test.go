package view

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"github.com/mfabulk/mfabulk/internal/apply"
	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
)

// hostile are values an attacker can put in a manifest, a recipients
// file, a journal file or a saved plan, each of which broke a view: a CR
// that ended a code span and a list item, then forged lines and an
// unterminated HTML comment (issue 20, item 1), terminal escapes (item
// 3), and a heading and a link out of a planted intent (item 6).
var hostile = []string{
	"out\r- **+ create** `x` — sealed to ESCROW\r<!--",
	"a\nb\n# forged heading",
	"line\u2028sep\u2029para",
	"\x1b[2K\x1b[1Aredrawn",
	"\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\",
	"bidi\u202eexe.txt",
	"ticks ` `` ``` end`",
	"`starts and ends`",
	"<!-- hidden",
	"</details>\n\n# after",
	"pipe | cell | break",
	"# heading",
	"[link](https://evil.example/) ![img](https://evil.example/x.png)",
	"<b>html</b> &amp; *em* _em_ ~~del~~ $x$ www.evil.example user@evil.example http://evil.example",
	"back\\slash\\",
	" space ",
}

const sshKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJbhL3u9bxpeY/rca7Ya2zTIFQVAZiZ4kiJM4MoCXbOW"

// hostilePlan has a change of every kind and a notice of every kind, each
// named and described by one hostile value, sealed to an SSH key whose
// comment is hostile too.
func hostilePlan(v string, sharedKeys bool) plan.Plan {
	keys := func(i int) []string {
		if sharedKeys {
			return []string{ageKey, sshKey + " escrow " + v}
		}
		return []string{ageKey, sshKey + fmt.Sprintf(" key%d ", i) + v}
	}
	dev := func(i int) *manifest.Device {
		return &manifest.Device{Name: "n" + v, Path: "/p" + v + "/", Bootstrap: "QRCodePNG" + v, Outfile: "/nowhere/" + v + ".age", Store: manifest.Store{URL: "s3://b/" + v + "/", KMSKeyID: "k" + v},
			User: "u" + v, Recipients: keys(i), Tags: map[string]string{"k" + v: "v" + v}}
	}
	ex := &device.Observed{Name: "x", Path: "/", Serial: "arn:aws:iam::123456789012:mfa/x" + v}
	old := "old" + v
	return plan.Plan{Account: "1234" + v, Changes: []plan.Change{
		{Action: plan.Create, Name: "c" + v, Path: "/p" + v + "/", Desired: dev(0)},
		{Action: plan.Replace, Name: "r" + v, Path: "/", Desired: dev(1), Existing: ex, Reason: "why" + v, Deactivate: "lost" + v},
		{Action: plan.Assign, Name: "a" + v, Path: "/", Desired: dev(2), Existing: ex, Reason: "why" + v},
		{Action: plan.UpdateTags, Name: "t" + v, Path: "/", Existing: ex, Tags: []plan.TagChange{{Key: "k" + v, Before: &old, After: &old}}},
		{Action: plan.Reseal, Name: "s" + v, Path: "/", Desired: dev(4), Existing: ex, Reason: "why" + v,
			Gains: []journal.Recipient{{Fingerprint: "SHA256:g" + v, Label: "gains " + v}}, Loses: []journal.Recipient{{Fingerprint: "SHA256:l" + v, Label: "loses " + v}}},
		{Action: plan.Delete, Name: "d" + v, Path: "/", Existing: ex, Reason: "why" + v, Deactivate: "left" + v},
		{Action: plan.Conflict, Name: "x" + v, Path: "/", Desired: dev(3), Existing: ex, Reason: "why" + v},
		{Action: plan.Mismatch, Name: "m" + v, Path: "/", Existing: ex, Reason: "why" + v},
		{Action: plan.Refused, Name: "f" + v, Path: "/", Existing: ex, Reason: "why" + v},
		{Action: plan.Unchanged, Name: "u" + v, Path: "/"},
	}, Notices: []plan.Notice{
		{Device: "j" + v, Message: "journal" + v},
		{Device: "i" + v, InProgress: true, Message: "busy" + v},
		{Device: "o" + v, Local: true, Message: "unsafe" + v},
	}}
}

func parseMarkdown(t *testing.T, src []byte) ast.Node {
	t.Helper()
	return goldmark.New(goldmark.WithExtensions(extension.GFM)).Parser().Parse(text.NewReader(src))
}

// inlineText is what a node's inline content reads as: its text and code.
func inlineText(n ast.Node, src []byte) string {
	var b strings.Builder
	ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch x := c.(type) {
		case *ast.Text:
			v := x.Segment.Value(src)
			if c.Parent().Kind() != ast.KindCodeSpan {
				v = util.UnescapePunctuations(v)
			}
			b.Write(v)
			if x.SoftLineBreak() || x.HardLineBreak() {
				b.WriteString("\n")
			}
		case *ast.String:
			b.Write(x.Value)
		}
		return ast.WalkContinue, nil
	})
	return b.String()
}

// ours are the only strong texts the Markdown view writes: a value must
// never make one.
var ours = regexp.MustCompile(`^([-+~!] (create|replace|assign|update-tags|reseal|delete|settle|conflict|mismatch|refused)|⚠? ?(journal|in progress|outfile)|Sealed to|Stored in|Tagged|Enabled for user\(s\)|No changes\.|Apply would refuse this plan: \d+ device\(s\) in conflict\.|Apply would leave \d+ device\(s\) undone: .*\.|… and \d+ more change\(s\) or notice\(s\) not shown:|Account .*:|total|Caution:|deactivated first:|Apply deactivates \d+ device\(s\) that users sign in with:)$`)

// checkStructure asserts that src, parsed as GFM, has the structure the
// Markdown view means for p: one heading (ours), one warning block, the
// counts table, and the changes and notices as one list, one item each,
// between our two HTML blocks (<details> and </details>); no other HTML,
// no links, images, or emphasis made of a value; each item's first code
// span is its device, escaped.
func checkStructure(t *testing.T, src []byte, p plan.Plan) {
	t.Helper()
	doc := parseMarkdown(t, src)
	var headings, htmlBlocks []string
	var items []ast.Node
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch x := n.(type) {
		case *ast.Heading:
			headings = append(headings, inlineText(x, src))
		case *ast.HTMLBlock:
			var b strings.Builder
			for i := 0; i < x.Lines().Len(); i++ {
				s := x.Lines().At(i)
				b.Write(s.Value(src))
			}
			htmlBlocks = append(htmlBlocks, strings.TrimSpace(b.String()))
		case *ast.RawHTML, *ast.Link, *ast.AutoLink, *ast.Image, *east.Strikethrough:
			t.Errorf("a value made a %s: %q", n.Kind(), inlineText(n.Parent(), src))
		case *ast.Emphasis:
			if s := inlineText(x, src); x.Level != 2 || !ours.MatchString(s) {
				t.Errorf("a value made emphasis (level %d): %q", x.Level, s)
			}
		case *ast.ListItem:
			// The changes are the list that follows <details>; the head
			// has lists of its own (the sets of recipients).
			if prev, ok := x.Parent().PreviousSibling().(*ast.HTMLBlock); ok && x.Parent().Parent().Kind() == ast.KindDocument && strings.HasPrefix(string(prev.Lines().Value(src)), "<details>") {
				items = append(items, x)
			}
		}
		return ast.WalkContinue, nil
	})
	if want := strings.TrimSpace("mfabulk plan for account " + Text(p.Account)); len(headings) != 1 || strings.TrimSpace(headings[0]) != want {
		t.Errorf("headings = %.300q, want only %.300q", headings, want)
	}
	if len(htmlBlocks) != 2 || !regexp.MustCompile(`^<details><summary>\d+ change\(s\) and notice\(s\)</summary>$`).MatchString(htmlBlocks[0]) || htmlBlocks[1] != "</details>" {
		t.Errorf("HTML blocks = %q, want only <details><summary>… and </details>", htmlBlocks)
	}
	var want []string
	for _, c := range p.Changes {
		if c.Action != plan.Unchanged {
			want = append(want, Text(c.Path+c.Name))
		}
	}
	for _, n := range p.Notices {
		want = append(want, Text(n.Device))
	}
	if len(items) != len(want) {
		t.Fatalf("%d list items, want %d (one per change and notice):\n%.3000s", len(items), len(want), src)
	}
	for i, it := range items {
		code := firstCode(it)
		if code == nil {
			t.Errorf("item %d has no code span", i)
			continue
		}
		if got := inlineText(code, src); got != want[i] {
			t.Errorf("item %d's device reads %.300q, want %.300q", i, got, want[i])
		}
	}
}

func firstCode(n ast.Node) ast.Node {
	var found ast.Node
	ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering && c.Kind() == ast.KindCodeSpan {
			found = c
			return ast.WalkStop, nil
		}
		return ast.WalkContinue, nil
	})
	return found
}

func TestPlanMarkdownKeepsItsStructureWhateverTheValues(t *testing.T) {
	for _, v := range hostile {
		for _, shared := range []bool{true, false} {
			t.Run(fmt.Sprintf("%q shared=%v", v, shared), func(t *testing.T) {
				p := hostilePlan(v, shared)
				var b bytes.Buffer
				PlanMarkdown(&b, p)
				checkStructure(t, b.Bytes(), p)
				if strings.Contains(b.String(), "\r") || strings.Contains(b.String(), "\u2028") || strings.Contains(b.String(), "\x1b") {
					t.Errorf("a raw CR, U+2028 or ESC in the Markdown")
				}
			})
		}
	}
}

// Each recipient is a code span of its own in the "sealed to" line of its
// change, inside that change's item, its SSH comment escaped.
func TestPlanMarkdownRecipientsStayInTheirItem(t *testing.T) {
	v := hostile[4] // an OSC 8 link
	p := hostilePlan(v, false)
	var b bytes.Buffer
	PlanMarkdown(&b, p)
	src := b.Bytes()
	doc := parseMarkdown(t, src)
	sealed := 0
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if li, ok := n.(*ast.ListItem); entering && ok && strings.HasPrefix(inlineText(li, src), "sealed to ") {
			sealed++
			outer := li.Parent().Parent()
			if _, ok := outer.(*ast.ListItem); !ok {
				t.Errorf("a sealed-to line is not inside a change's item")
			}
			var codes []string
			for c := li.FirstChild().FirstChild(); c != nil; c = c.NextSibling() {
				if c.Kind() == ast.KindCodeSpan {
					codes = append(codes, inlineText(c, src))
				}
			}
			if want := strconv.Quote(v)[1:]; len(codes) != 2 || !strings.HasSuffix(codes[1], want) {
				t.Errorf("recipients read %q, want two, the SSH key's comment quoted, ending in %q", codes, want)
			}
		}
		return ast.WalkContinue, nil
	})
	if sealed != 3 { // create, replace, assign
		t.Errorf("%d sealed-to lines, want 3", sealed)
	}
}

// A value in the several-accounts table stays in its cell.
func TestPlansMarkdownTableKeepsItsCells(t *testing.T) {
	for _, v := range hostile {
		as := []AccountPlan{{Account: "1" + v, Err: errors.New("denied" + v)}, {Account: "2" + v, Plan: ptr(hostilePlan(v, true))}}
		var b bytes.Buffer
		PlansMarkdown(&b, as)
		src := b.Bytes()
		doc := parseMarkdown(t, src)
		table, ok := doc.FirstChild().NextSibling().(*east.Table)
		if !ok {
			t.Errorf("%q: no table after the heading:\n%s", v, src)
			continue
		}
		rows := 0
		for r := table.FirstChild(); r != nil; r = r.NextSibling() {
			cells := r.ChildCount()
			if cells != 8 {
				t.Errorf("%q: a row of %d cells, want 8", v, cells)
			}
			if _, body := r.(*east.TableRow); body && rows < 2 {
				if got, want := strings.TrimSpace(inlineText(r.FirstChild(), src)), strings.TrimSpace(Text(as[rows].Account)); got != want {
					t.Errorf("%q: account cell reads %q, want %q", v, got, want)
				}
			}
			if _, body := r.(*east.TableRow); body {
				rows++
			}
		}
		if rows != 3 {
			t.Errorf("%q: %d rows, want 3 (two accounts and the total)", v, rows)
		}
		ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
			switch n.Kind() {
			case ast.KindRawHTML, ast.KindLink, ast.KindAutoLink, ast.KindImage:
				t.Errorf("%q: a value made a %s", v, n.Kind())
			case ast.KindHeading:
				if entering && n.(*ast.Heading).Level < 3 {
					t.Errorf("%q: a value made a heading %q", v, inlineText(n, src))
				}
			}
			return ast.WalkContinue, nil
		})
	}
}

// badRune finds a byte or rune in a text view's output that is not
// printable, other than the newline and our own colours.
func badRune(out string) (string, bool) {
	out = regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(out, "")
	for _, line := range strings.Split(out, "\n") {
		if escape(line, false) != line {
			return line, true
		}
	}
	return "", false
}

func TestTextViewsPrintNoControlCharacters(t *testing.T) {
	for _, v := range hostile {
		for _, st := range []Style{{}, {Color: true}} {
			var b bytes.Buffer
			p := hostilePlan(v, false)
			PlanText(&b, p, st)
			PlanText(&b, hostilePlan(v, true), st)
			PlansText(&b, []AccountPlan{{Account: "1" + v, Role: "arn:" + v, Err: errors.New("denied" + v)}, {Account: "2" + v, Plan: &p}}, st)
			r := apply.Result{Outcomes: []apply.Outcome{
				{Device: "c" + v, Action: plan.Create, Serial: "s" + v, Outfile: "/o" + v, User: "u" + v},
				{Device: "r" + v, Action: plan.Replace, Serial: "s" + v, Outfile: "/o" + v, User: "u" + v, Deactivated: "lost" + v},
				{Device: "f" + v, Action: plan.Create, Code: "Code" + v, Err: errors.New("AWS said: " + v)},
				{Device: "n" + v, Action: plan.Delete, Err: apply.ErrNotStarted},
			}}
			for _, o := range r.Outcomes {
				kind := apply.Created
				if o.Err != nil {
					kind = apply.Failed
				}
				Event(&b, apply.Event{Kind: kind, Outcome: o})
			}
			ApplySummary(&b, r)
			AppliesSummary(&b, []AccountResult{{AccountPlan: AccountPlan{Account: "3" + v}, Result: &r}, {AccountPlan: AccountPlan{Account: "4" + v, Err: errors.New(v)}}}, st)
			if line, bad := badRune(b.String()); bad {
				t.Errorf("%q (colour %v): a line prints raw: %q", v, st.Color, line)
			}
		}
	}
}

// One 70,000-character SSH key comment, shared or not, neither makes the
// comment too long for GitHub nor pushes a change out of the list.
func TestPlanMarkdownBudgetsTheHead(t *testing.T) {
	long := strings.Repeat("c", 70000)
	for _, shared := range []bool{true, false} {
		p := hostilePlan("", shared)
		for i, c := range p.Changes {
			if c.Desired != nil {
				d := *c.Desired
				d.Recipients = []string{ageKey, fmt.Sprintf("%s %d%s", sshKey, i, long)}
				if shared {
					d.Recipients[1] = sshKey + " " + long
				}
				p.Changes[i].Desired = &d
			}
		}
		var b bytes.Buffer
		PlanMarkdown(&b, p)
		if b.Len() > MaxMarkdown {
			t.Errorf("shared=%v: Markdown is %d bytes, want at most %d", shared, b.Len(), MaxMarkdown)
		}
		if strings.Contains(b.String(), "not shown") {
			t.Errorf("shared=%v: changes left out of the list", shared)
		}
		checkStructure(t, b.Bytes(), p)
	}
	var b bytes.Buffer
	PlansMarkdown(&b, []AccountPlan{{Account: "1", Plan: ptr(hostilePlan(long, true))}, {Account: "2", Plan: ptr(hostilePlan(long, false))}, {Account: long, Err: errors.New(long)}})
	if b.Len() > MaxMarkdown {
		t.Errorf("several accounts: Markdown is %d bytes, want at most %d", b.Len(), MaxMarkdown)
	}
}

// Thirty recipients are listed up to ten, then how many more and where.
func TestPlanMarkdownBoundsTheRecipients(t *testing.T) {
	p := bigPlan(2)
	var keys []string
	for i := range 30 {
		keys = append(keys, fmt.Sprintf("%s k%02d", sshKey, i))
	}
	for i := range p.Changes {
		p.Changes[i].Desired.Recipients = keys
	}
	var b bytes.Buffer
	PlanMarkdown(&b, p)
	if !strings.Contains(b.String(), "\"k09\"` and 20 more; see `plan -o json`\n") || strings.Contains(b.String(), "k10") {
		t.Errorf("want ten recipients and \"and 20 more\":\n%s", b.String())
	}
}

// A plan apply would leave unfinished says so at the top, in text and in
// Markdown, before the changes.
func TestPlanWarnsAtTheTopWhenApplyWouldLeaveDevicesUndone(t *testing.T) {
	p := bigPlan(1)
	p.Changes = append(p.Changes, plan.Change{Action: plan.Mismatch, Name: "dora", Path: "/q4/", Reason: "its outfile is not here"})
	p.Notices = []plan.Notice{{Device: "erin", InProgress: true, Message: "another run is working on it"}}
	var md, txt bytes.Buffer
	PlanMarkdown(&md, p)
	PlanText(&txt, p, Style{})
	want := "Apply would leave 2 device(s) undone: 1 mismatch, 1 in progress."
	if !strings.HasPrefix(md.String(), "### mfabulk plan for account `123456789012`\n\n> [!WARNING]\n> **"+want+"**") {
		t.Errorf("Markdown does not open with the warning:\n%s", md.String())
	}
	if !strings.HasPrefix(txt.String(), "Warning: "+want+"\n") {
		t.Errorf("text does not open with the warning:\n%s", txt.String())
	}
}
