package view

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/yuin/goldmark/ast"

	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
)

// hugeTags are n tags of a valid manifest that each fill their bound:
// ideographic spaces are allowed in a tag and escaped to six bytes each.
func hugeTags(n int) []plan.TagChange {
	var tags []plan.TagChange
	for i := range n {
		v := strings.Repeat("\u3000", 256)
		tags = append(tags, plan.TagChange{Key: fmt.Sprintf("%02d", i) + strings.Repeat("\u3000", 126), After: &v})
	}
	return tags
}

// One update of fifty huge tags (about 90 KB of Markdown once) neither
// empties the list nor hides the change after it: its item lists the
// tags that fit, then how many more.
func TestPlanMarkdownBoundsAChangeOfHugeTags(t *testing.T) {
	ex := &device.Observed{Name: "x", Path: "/", Serial: "arn:aws:iam::123456789012:mfa/x"}
	p := plan.Plan{Account: "123456789012", Changes: []plan.Change{
		{Action: plan.UpdateTags, Name: "aaa", Path: "/", Existing: ex, Tags: hugeTags(50)},
		{Action: plan.Delete, Name: "ceo", Path: "/", Existing: ex, Reason: "in scope / but not in the manifest"},
	}}
	var b bytes.Buffer
	PlanMarkdown(&b, p)
	out := b.String()
	if b.Len() > MaxMarkdown {
		t.Errorf("Markdown is %d bytes, want at most %d", b.Len(), MaxMarkdown)
	}
	shown := strings.Count(out, "\n- **")
	hidden := 0
	if m := regexp.MustCompile(`\*\*… and (\d+) more change\(s\) or notice\(s\) not shown`).FindStringSubmatch(out); m != nil {
		hidden, _ = strconv.Atoi(m[1])
	}
	if shown == 0 || shown+hidden != 2 {
		t.Errorf("%d change(s) shown and %d said not shown, want at least one shown and 2 in all:\n%.3000s", shown, hidden, out)
	}
	if !strings.Contains(out, "- **- delete** `/ceo`") || !regexp.MustCompile(`\n  - and \d+ more tag\(s\)`).MatchString(out) {
		t.Errorf("want the delete of /ceo shown and the tags cut with how many more:\n%.3000s", out)
	}
}

// Every change's item stays within 4 KiB whatever its values hold: the
// longest device, outfile, user and reason, many huge tags and recipients
// with the longest comments.
func TestPlanMarkdownBoundsEachChange(t *testing.T) {
	long := strings.Repeat("\u3000", 2000)
	var keys []string
	for i := range 30 {
		keys = append(keys, fmt.Sprintf("%s%s %d%s", sshKey, "", i, long))
	}
	tags := map[string]string{}
	for _, tc := range hugeTags(50) {
		tags[tc.Key] = *tc.After
	}
	d := &manifest.Device{Name: long, Path: "/" + long + "/", Bootstrap: long, Outfile: "/" + long, User: long, Recipients: keys, Tags: tags}
	ex := &device.Observed{Name: "x", Path: "/", Serial: "arn:aws:iam::123456789012:mfa/x"}
	p := plan.Plan{Account: "123456789012", Changes: []plan.Change{
		{Action: plan.Create, Name: long, Path: "/" + long + "/", Desired: d},
		{Action: plan.Replace, Name: long + "r", Path: "/", Desired: d, Existing: ex, Reason: long},
		{Action: plan.UpdateTags, Name: long, Path: "/", Existing: ex, Tags: hugeTags(50)},
		{Action: plan.Delete, Name: long, Path: "/", Existing: ex, Reason: long},
	}}
	p.Changes[1].Desired = &manifest.Device{Name: "r", Path: "/", Bootstrap: "QRCodePNG", Outfile: "/r", Recipients: keys[:1], Tags: map[string]string{"a": "b"}}
	var b bytes.Buffer
	PlanMarkdown(&b, p)
	out := b.String()
	list := out[strings.Index(out, "<details>"):]
	items := strings.Split(list, "\n- **")[1:]
	if len(items) != 4 {
		t.Fatalf("%d items, want 4:\n%.2000s", len(items), out)
	}
	for i, it := range items {
		if len(it) > maxItem {
			t.Errorf("item %d is %d bytes, want at most %d:\n%.600s", i, len(it), maxItem, it)
		}
	}
}

// Padding changes push any change out of the list, but not out of the
// head: it names every set of recipients (the odd one out first) and
// every user a new device is enabled for, so the device sealed to an
// attacker's key as well and enabled for the CEO is seen however many
// changes come before it.
func TestPlanMarkdownHeadSpeaksForEveryChange(t *testing.T) {
	p := bigPlan(5000)
	d := *p.Changes[0].Desired
	d.Name, d.User, d.Recipients = "zz-ceo", "ceo", []string{ageKey, sshKey + " attacker"}
	p.Changes = append(p.Changes, plan.Change{Action: plan.Create, Name: "zz-ceo", Path: d.Path, Desired: &d})
	var b bytes.Buffer
	PlanMarkdown(&b, p)
	out := b.String()
	if b.Len() > MaxMarkdown {
		t.Errorf("Markdown is %d bytes, want at most %d", b.Len(), MaxMarkdown)
	}
	head := out[:strings.Index(out, "<details>")]
	for _, want := range []string{
		"\n- 1 device(s): `age1rx5zrrd4…9avgcs`, `ssh-ed25519 SHA256:7/llgWBUFcIruLNPI400jtyfItrwqJXQb6xOuVgYTvA \"attacker\"`\n- 5000 device(s): `age1rx5zrrd4…9avgcs`\n",
		"\n**Enabled for user(s)** (a new device each): `ceo`\n",
	} {
		if !strings.Contains(head, want) {
			t.Errorf("the head does not say %q:\n%s", want, head)
		}
	}
	if !strings.Contains(out, "more change(s) or notice(s) not shown:** a GitHub comment holds 65536 characters. See every change with `mfabulk show-plan plan.json`") {
		t.Errorf("the not-shown line does not point to the text of the saved plan:\n%s", out[len(out)-600:])
	}
}

// The head's lists are bounded: ten sets of recipients, twenty users.
func TestPlanMarkdownBoundsTheHeadsLists(t *testing.T) {
	p := bigPlan(40)
	for i := range p.Changes {
		d := *p.Changes[i].Desired
		d.User = fmt.Sprintf("user%02d", i)
		d.Recipients = []string{ageKey, fmt.Sprintf("%s k%02d", sshKey, i)}
		p.Changes[i].Desired = &d
	}
	var b bytes.Buffer
	PlanMarkdown(&b, p)
	head := b.String()[:strings.Index(b.String(), "<details>")]
	for _, want := range []string{"40 different sets of recipients", "\"k09\"`\n- … and 30 more set(s); see `plan -o json`\n", "`user19` and 20 more; see `plan -o json`\n"} {
		if !strings.Contains(head, want) {
			t.Errorf("the head does not say %q:\n%s", want, head)
		}
	}
	if strings.Contains(head, "k10") || strings.Contains(head, "user20") {
		t.Errorf("the head lists more than its bound:\n%s", head)
	}
}

// A value that GitHub would turn into a mention or an issue link even
// backslash-escaped (@user, #123) is never prose in the Markdown.
func TestPlanMarkdownKeepsMentionsInCode(t *testing.T) {
	v := " @octocat #99"
	for _, shared := range []bool{true, false} {
		var b bytes.Buffer
		PlanMarkdown(&b, hostilePlan(v, shared))
		PlansMarkdown(&b, []AccountPlan{{Account: "1", Err: errors.New("denied" + v)}, {Account: "2", Plan: ptr(hostilePlan(v, shared))}})
		src := b.Bytes()
		ast.Walk(parseMarkdown(t, src), func(n ast.Node, entering bool) (ast.WalkStatus, error) {
			if x, ok := n.(*ast.Text); ok && entering && n.Parent().Kind() != ast.KindCodeSpan {
				if s := string(x.Segment.Value(src)); strings.Contains(s, "octocat") || strings.Contains(s, "#99") || strings.Contains(s, `\#99`) {
					t.Errorf("shared=%v: a value is prose: %q", shared, s)
				}
			}
			return ast.WalkContinue, nil
		})
	}
}
