package view

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
)

// samplePlan has every kind of line a reviewer meets: a conflict, creates
// sealed to different keys, long paths, a tag diff, a delete.
func samplePlan() plan.Plan {
	ssh := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJbhL3u9bxpeY/rca7Ya2zTIFQVAZiZ4kiJM4MoCXbOW escrow@sec"
	long := "/organisation/engineering/platform-infrastructure/identity-and-access/cohort-2026-q4/"
	dev := func(name string, tags map[string]string, rs ...string) *manifest.Device {
		return &manifest.Device{Name: name, Path: long, Bootstrap: "QRCodePNG", Outfile: "/nowhere/out/" + name + ".png.age", Recipients: rs, Tags: tags}
	}
	old, v := "2026-q3", "2026-q4"
	ex := &device.Observed{Name: "x", Path: long, Serial: "arn:aws:iam::123456789012:mfa" + long + "x"}
	return plan.Plan{Account: "123456789012", Changes: []plan.Change{
		{Action: plan.Create, Name: "alice.smith-very-long-name", Path: long, Desired: dev("alice.smith-very-long-name", map[string]string{"cohort": "q4"}, ageKey, ssh)},
		{Action: plan.Create, Name: "bob", Path: long, Desired: dev("bob", map[string]string{"cohort": "q4", "team": "sre"}, ageKey)},
		{Action: plan.Replace, Name: "carol", Path: long, Desired: dev("carol", nil, ageKey), Existing: ex, Reason: "asked for with --replace"},
		{Action: plan.UpdateTags, Name: "dora", Path: long, Existing: ex, Tags: []plan.TagChange{{Key: "cohort", Before: &old, After: &v}}},
		{Action: plan.Delete, Name: "old", Path: long, Existing: ex, Reason: "in scope /organisation/ but not in the manifest"},
		{Action: plan.Conflict, Name: "erin", Path: "/q4/", Desired: dev("erin", nil, ageKey), Existing: ex, Reason: "it exists at path /elsewhere/; IAM cannot move a device"},
		{Action: plan.Unchanged, Name: "frank", Path: "/q4/"},
	}}
}

// TestRenderMarkdown renders the sample plan's Markdown with marked and
// headless Chromium (scripts/render-markdown.sh), when both are installed;
// MFABULK_RENDER_PNG keeps the screenshot (docs/plan-markdown.png).
func TestRenderMarkdown(t *testing.T) {
	for _, tool := range []string{"marked", "chromium"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	dir := t.TempDir()
	var b bytes.Buffer
	PlanMarkdown(&b, samplePlan())
	md := filepath.Join(dir, "plan.md")
	if err := os.WriteFile(md, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	png := os.Getenv("MFABULK_RENDER_PNG")
	if png == "" {
		png = filepath.Join(dir, "plan.png")
	}
	out, err := exec.Command("../../scripts/render-markdown.sh", md, png).CombinedOutput()
	if err != nil {
		t.Fatalf("render-markdown.sh: %v\n%s", err, out)
	}
	if fi, err := os.Stat(png); err != nil || fi.Size() < 10000 {
		t.Fatalf("no screenshot: %v", err)
	}
}
