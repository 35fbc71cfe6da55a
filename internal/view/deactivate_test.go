package view

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
)

// A change that deactivates a device says what it costs its user, in red
// on a terminal and in plain words without colour, and the Markdown opens
// with a caution naming it.
func TestDeactivationIsLoud(t *testing.T) {
	p := plan.Plan{Account: "1", Changes: []plan.Change{{Action: plan.Replace, Name: "bob", Path: "/", Reason: "replacement requested with --replace",
		Desired:  &manifest.Device{Name: "bob", Path: "/", User: "bob", Outfile: "/w/bob.age"},
		Existing: &device.Observed{Name: "bob", Path: "/", User: "bob"}, Deactivate: "bob"}}}
	const line = "! deactivates the device first: bob cannot sign in with MFA until the new device is enabled (apply enables it at once)"
	var plain, red bytes.Buffer
	PlanText(&plain, p, Style{})
	PlanText(&red, p, Style{Color: true})
	if !strings.Contains(plain.String(), "        "+line+"\n") || strings.Contains(plain.String(), "\x1b") {
		t.Errorf("without colour:\n%s", plain.String())
	}
	if !strings.Contains(red.String(), "\x1b[1;31m"+line+"\x1b[0m") {
		t.Errorf("on a terminal, the consequence is not red:\n%q", red.String())
	}
	var md bytes.Buffer
	PlanMarkdown(&md, p)
	if !strings.Contains(md.String(), "> [!CAUTION]\n> **Apply deactivates 1 device(s) that users sign in with:**") ||
		!strings.Contains(md.String(), "> - `/bob`: `bob cannot sign in with MFA until the new device is enabled") {
		t.Errorf("Markdown:\n%s", md.String())
	}
}
