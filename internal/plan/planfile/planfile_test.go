package planfile

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
)

func TestFingerprint(t *testing.T) {
	m := &manifest.Manifest{Files: []string{"m.yaml"}, Digests: []string{"abc"}}
	a := device.Observed{Serial: "arn:aws:iam::1:mfa/a"}
	b := device.Observed{Serial: "arn:aws:iam::1:mfa/b"}
	obs := plan.Observed{Account: "1", Devices: []device.Observed{a, b}, Tags: map[string]map[string]string{"a": {"k": "v"}}}
	fp := Fingerprint("v1", m, obs, plan.Options{})
	reordered := obs
	reordered.Devices = []device.Observed{b, a}
	if Fingerprint("v1", m, reordered, plan.Options{}) != fp {
		t.Error("the order IAM lists devices in changed the fingerprint")
	}
	changes := map[string]func() string{
		"tool version": func() string { return Fingerprint("v2", m, obs, plan.Options{}) },
		"manifest": func() string {
			return Fingerprint("v1", &manifest.Manifest{Files: m.Files, Digests: []string{"abd"}}, obs, plan.Options{})
		},
		"a new device": func() string {
			o := obs
			o.Devices = append([]device.Observed{{Serial: "x"}}, obs.Devices...)
			return Fingerprint("v1", m, o, plan.Options{})
		},
		"assignment": func() string {
			o := obs
			o.Devices = []device.Observed{{Serial: a.Serial, User: "u"}, b}
			return Fingerprint("v1", m, o, plan.Options{})
		},
		"a tag": func() string {
			o := obs
			o.Tags = map[string]map[string]string{"a": {"k": "w"}}
			return Fingerprint("v1", m, o, plan.Options{})
		},
		"seed lost": func() string {
			o := obs
			o.Local = map[string]plan.Local{"a": {Pending: true, IntentID: "x"}}
			return Fingerprint("v1", m, o, plan.Options{})
		},
		"a create ID": func() string {
			o := obs
			o.CreateIDs = map[string]string{"a": "other"}
			return Fingerprint("v1", m, o, plan.Options{})
		},
		"--prune":  func() string { return Fingerprint("v1", m, obs, plan.Options{Prune: true}) },
		"--target": func() string { return Fingerprint("v1", m, obs, plan.Options{Targets: []string{"a"}}) },
	}
	for what, f := range changes {
		if f() == fp {
			t.Errorf("%s did not change the fingerprint", what)
		}
	}
}

func TestWriteReadCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := Write(path, File{Fingerprint: "f1", Manifests: []string{"m.yaml"}}); err != nil {
		t.Fatal(err)
	}
	f, err := Read(path)
	if err != nil || f.Check("f1") != nil || !errors.Is(f.Check("f2"), ErrStale) {
		t.Fatalf("read %+v, %v", f, err)
	}
	if _, err := Read("planfile_test.go"); err == nil {
		t.Error("a Go file read as a saved plan")
	}
}
