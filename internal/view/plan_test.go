package view

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
)

const ageKey = "age1rx5zrrd45u7mmgrrpjr5j2utf3fs7m7gl7twncerl5d96cmm53fs9avgcs"

func bigPlan(n int) plan.Plan {
	p := plan.Plan{Account: "123456789012"}
	for i := range n {
		name := fmt.Sprintf("user-%05d-with-a-rather-long-device-name", i)
		p.Changes = append(p.Changes, plan.Change{Action: plan.Create, Name: name, Path: "/org/division/team/cohort-2026-q4/",
			Desired: &manifest.Device{Name: name, Path: "/org/division/team/cohort-2026-q4/", Bootstrap: "QRCodePNG",
				Outfile: "/srv/mfa/out/" + name + ".png.age", Recipients: []string{ageKey}, Tags: map[string]string{"cohort": "q4"}}})
	}
	return p
}

// A plan of 5,000 devices fits one GitHub comment and says how many
// changes it leaves out and where to see them.
func TestPlanMarkdownFitsAComment(t *testing.T) {
	var b bytes.Buffer
	PlanMarkdown(&b, bigPlan(5000))
	out := b.String()
	if len(out) > MaxMarkdown {
		t.Fatalf("Markdown is %d bytes, want at most %d", len(out), MaxMarkdown)
	}
	m := regexp.MustCompile(`\*\*… and (\d+) more change\(s\) or notice\(s\) not shown:\*\*.*mfabulk show-plan plan\.json\x60 .*\x60plan -o json\x60`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no line saying how many more changes there are:\n%s", out[len(out)-600:])
	}
	shown := strings.Count(out, "\n- **+ create** ")
	if fmt.Sprint(5000-shown) != m[1] {
		t.Errorf("%d changes shown and %s more, want 5000 in all", shown, m[1])
	}
	if !strings.Contains(out, "| create | 5000 |") || !strings.HasSuffix(out, "</details>\n") {
		t.Errorf("counts or closing tag missing")
	}
}

// The counts table has no zero rows; a small plan is shown whole.
func TestPlanMarkdownCounts(t *testing.T) {
	var b bytes.Buffer
	PlanMarkdown(&b, bigPlan(3))
	out := b.String()
	if regexp.MustCompile(`(?m)^\| [a-z-]+ \| 0 \|$`).MatchString(out) {
		t.Errorf("a zero row in the counts:\n%s", out)
	}
	if strings.Contains(out, "more change(s)") || strings.Count(out, "\n- **+ create** ") != 3 {
		t.Errorf("a small plan is not shown whole:\n%s", out)
	}
}

// Replace, assign and delete are red; tag lines are green when added, red
// when removed, yellow when changed; no colour when it is off.
func TestPlanTextColours(t *testing.T) {
	old, v := "old", "new"
	d := &manifest.Device{Name: "a", Path: "/", Bootstrap: "QRCodePNG", Outfile: "/x/a.age", Recipients: []string{ageKey}}
	ex := &device.Observed{Name: "a", Path: "/", Serial: "arn:aws:iam::1:mfa/a"}
	p := plan.Plan{Account: "1", Changes: []plan.Change{
		{Action: plan.Replace, Name: "a", Path: "/", Desired: d, Existing: ex, Reason: "--replace"},
		{Action: plan.Assign, Name: "b", Path: "/", Desired: d, Existing: ex, Reason: "unassigned"},
		{Action: plan.UpdateTags, Name: "c", Path: "/", Desired: d, Existing: ex, Tags: []plan.TagChange{
			{Key: "added", After: &v}, {Key: "gone", Before: &old}, {Key: "changed", Before: &old, After: &v}}},
		{Action: plan.Delete, Name: "d", Path: "/", Existing: ex, Reason: "pruned"},
	}}
	var b bytes.Buffer
	PlanText(&b, p, Style{Color: true})
	out := b.String()
	for _, want := range []string{
		"\x1b[31m  ~ replace    \x1b[0m /a",
		"\x1b[31m  ~ assign     \x1b[0m /b",
		"\x1b[31m  - delete     \x1b[0m /d",
		"\x1b[32madded: (none) → \"new\"\x1b[0m",
		"\x1b[31mgone: \"old\" → (none)\x1b[0m",
		"\x1b[33mchanged: \"old\" → \"new\"\x1b[0m",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	b.Reset()
	PlanText(&b, p, Style{})
	if strings.Contains(b.String(), "\x1b[") {
		t.Errorf("colour while off:\n%s", b.String())
	}
}
