package view

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/plan/jsonplan"
)

// A pull request that moves store: to a bucket, prefix or KMS key of its
// author's shows in the head of the plan a reviewer reads, however many
// padding changes push the new devices out of the list below, and in the
// text plan; a device written elsewhere than the others is listed first.
func TestPlanHeadSaysWhereTheSecretsGo(t *testing.T) {
	home := manifest.Store{URL: "s3://acme-mfabulk/accounts/q4/"}
	evil := manifest.Store{URL: "s3://attacker-drop/loot/", KMSKeyID: "arn:aws:kms:us-east-1:999999999999:key/11111111-2222-3333-4444-555555555555"}
	ex := &device.Observed{Name: "x", Path: "/", Serial: "arn:aws:iam::123456789012:mfa/x"}
	old, neu := "a", "b"
	var cs []plan.Change
	for i := range 3000 { // padding: tag updates, never reviewed lines of their own
		cs = append(cs, plan.Change{Action: plan.UpdateTags, Name: fmt.Sprintf("pad%04d", i), Path: "/", Existing: ex,
			Tags: []plan.TagChange{{Key: "team", Before: &old, After: &neu}}})
	}
	for i, s := range []manifest.Store{home, home, evil} {
		name := fmt.Sprintf("new%d", i)
		cs = append(cs, plan.Change{Action: plan.Create, Name: name, Path: "/", Desired: &manifest.Device{
			Name: name, Path: "/", Bootstrap: "QRCodePNG", Outfile: s.URL + "out/" + name + ".png.age",
			Recipients: []string{ageKey}, Store: s}})
	}
	p := plan.Plan{Account: "123456789012", Changes: cs}

	var md bytes.Buffer
	PlanMarkdown(&md, p)
	head, _, _ := strings.Cut(md.String(), "<details>")
	for _, want := range []string{"`s3://attacker-drop/loot/`", "`" + evil.KMSKeyID + "`", "`s3://acme-mfabulk/accounts/q4/`"} {
		if !strings.Contains(head, want) {
			t.Errorf("the Markdown plan's head does not name %s:\n%s", want, head)
		}
	}
	if i, j := strings.Index(head, "attacker-drop"), strings.Index(head, "acme-mfabulk"); i < 0 || j < 0 || i > j {
		t.Errorf("the store of one device is not listed first:\n%s", head)
	}

	var txt bytes.Buffer
	PlanText(&txt, p, Style{})
	if !strings.Contains(txt.String(), "1 device(s): s3://attacker-drop/loot/ (SSE-KMS key "+evil.KMSKeyID+")") {
		t.Errorf("the text plan does not say where the secrets go:\n%s", tail(txt.String()))
	}

	// One store for every new secret: one line.
	one := plan.Plan{Account: "123456789012", Changes: cs[len(cs)-1:]}
	txt.Reset()
	PlanText(&txt, one, Style{})
	if !strings.Contains(txt.String(), "Stored in: s3://attacker-drop/loot/ (SSE-KMS key "+evil.KMSKeyID+") (every new secret)") {
		t.Errorf("the text plan does not say where the secret goes:\n%s", txt.String())
	}
}

func tail(s string) string { return s[max(0, len(s)-2000):] }

// A warning about a store that apply goes on with (versioning off, allowed
// by --allow-unversioned-store; public access not blocked) is labelled as
// the store's, in text and Markdown, not as a crashed run's intent
// ("journal"), and survives a saved plan.
func TestStoreWarningIsLabelledTheStores(t *testing.T) {
	p := plan.Plan{Account: "123456789012", Changes: []plan.Change{{Action: plan.Create, Name: "alice", Path: "/",
		Desired: &manifest.Device{Name: "alice", Path: "/", Bootstrap: "QRCodePNG", Outfile: "s3://loose/q4/out/alice.png.age",
			Recipients: []string{ageKey}, Store: manifest.Store{URL: "s3://loose/q4/"}}}},
		Notices: []plan.Notice{{Device: "alice", Store: true, Message: "store s3://loose/q4/: bucket loose does not keep versions"}}}
	var txt, md bytes.Buffer
	PlanText(&txt, p, Style{})
	if !strings.Contains(txt.String(), "  ! store       alice: store s3://loose/q4/: bucket loose does not keep versions") {
		t.Errorf("text:\n%s", txt.String())
	}
	PlanMarkdown(&md, p)
	if !strings.Contains(md.String(), "- ⚠ **store** `alice`:") {
		t.Errorf("Markdown:\n%s", md.String())
	}
	if back := jsonplan.ToPlan(JSONPlan(p, "dev")); len(back.Notices) != 1 || !back.Notices[0].Store {
		t.Errorf("through JSON: %+v", back.Notices)
	}
}

// A pull request that moves store: to a bucket already holding copies of
// every outfile and record plans no changes; the Markdown plan still names
// the store, since every later run, the nightly's included, writes there.
func TestNoChangesPlanNamesTheStore(t *testing.T) {
	evil := manifest.Store{URL: "s3://attacker-drop/loot/"}
	ex := &device.Observed{Name: "alice", Path: "/", Serial: "arn:aws:iam::123456789012:mfa/alice"}
	p := plan.Plan{Account: "123456789012", Changes: []plan.Change{{Action: plan.Unchanged, Name: "alice", Path: "/", Existing: ex,
		Desired: &manifest.Device{Name: "alice", Path: "/", Bootstrap: "QRCodePNG", Outfile: evil.URL + "out/alice.png.age",
			Recipients: []string{ageKey}, Store: evil}}}}
	var md bytes.Buffer
	PlanMarkdown(&md, p)
	if !strings.Contains(md.String(), "**Stored in** (where every device's outfile, record and intent are kept): `s3://attacker-drop/loot/`") {
		t.Errorf("a plan of no changes does not name its store:\n%s", md.String())
	}
	// Folders only: nothing said, as before stores.
	p.Changes[0].Desired.Store = manifest.Store{}
	md.Reset()
	PlanMarkdown(&md, p)
	if strings.Contains(md.String(), "Stored in") {
		t.Errorf("a plan of folders names a store:\n%s", md.String())
	}
}
