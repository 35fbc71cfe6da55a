package planfile

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/plan/jsonplan"
)

func inputs() Inputs {
	m := &manifest.Manifest{Files: []string{"m.yaml"}, Digests: []string{"abc"},
		Devices: []manifest.Device{{Name: "alice", Outfile: "/w/out/alice.age", Recipients: []string{"age1a"}}}}
	a := device.Observed{Serial: "arn:aws:iam::1:mfa/a"}
	b := device.Observed{Serial: "arn:aws:iam::1:mfa/b"}
	obs := plan.Observed{Account: "1", Devices: []device.Observed{a, b}, Tags: map[string]map[string]string{"a": {"k": "v"}}}
	return Inputs{ToolVersion: "v1", Manifest: m, Observed: obs, WorkDir: "/w"}
}

func fp(in Inputs) string { return Fingerprint(Components(in)) }

func TestFingerprint(t *testing.T) {
	in := inputs()
	base := fp(in)
	reordered := in
	reordered.Observed.Devices = []device.Observed{in.Observed.Devices[1], in.Observed.Devices[0]}
	if fp(reordered) != base {
		t.Error("the order IAM lists devices in changed the fingerprint")
	}
	moved := in
	moved.WorkDir = "/elsewhere"
	moved.Manifest = &manifest.Manifest{Files: in.Manifest.Files, Digests: in.Manifest.Digests,
		Devices: []manifest.Device{{Name: "alice", Outfile: "/elsewhere/out/alice.age", Recipients: []string{"age1a"}}}}
	if fp(moved) != base {
		t.Error("the same layout in another folder changed the fingerprint")
	}
	changes := map[string]func(*Inputs){
		"tool version": func(in *Inputs) { in.ToolVersion = "v2" },
		"manifest": func(in *Inputs) {
			in.Manifest = &manifest.Manifest{Files: in.Manifest.Files, Digests: []string{"abd"}, Devices: in.Manifest.Devices}
		},
		"recipients": func(in *Inputs) {
			in.Manifest = &manifest.Manifest{Files: in.Manifest.Files, Digests: in.Manifest.Digests,
				Devices: []manifest.Device{{Name: "alice", Outfile: "/w/out/alice.age", Recipients: []string{"age1b"}}}}
		},
		"a new device": func(in *Inputs) {
			in.Observed.Devices = append([]device.Observed{{Serial: "x"}}, in.Observed.Devices...)
		},
		"assignment": func(in *Inputs) {
			in.Observed.Devices = []device.Observed{{Serial: "arn:aws:iam::1:mfa/a", User: "u"}, in.Observed.Devices[1]}
		},
		"a tag":              func(in *Inputs) { in.Observed.Tags = map[string]map[string]string{"a": {"k": "w"}} },
		"seed lost":          func(in *Inputs) { in.Observed.Local = map[string]plan.Local{"a": {Pending: true, IntentID: "x"}} },
		"a create ID":        func(in *Inputs) { in.Observed.CreateIDs = map[string]string{"a": "other"} },
		"account":            func(in *Inputs) { in.Observed.Account = "2" },
		"role template":      func(in *Inputs) { in.RoleTemplate = "arn:aws:iam::{{.Account}}:role/x" },
		"--prune":            func(in *Inputs) { in.Options = plan.Options{Prune: true} },
		"--target":           func(in *Inputs) { in.Options = plan.Options{Targets: []string{"a"}} },
		"--allow-deactivate": func(in *Inputs) { in.Options = plan.Options{AllowDeactivate: true} },
	}
	for what, change := range changes {
		x := inputs()
		change(&x)
		if fp(x) == base {
			t.Errorf("%s did not change the fingerprint", what)
		}
	}
}

// TestDiffNamesWhatChanged: a stale plan says what changed, not only that
// something did.
func TestDiffNamesWhatChanged(t *testing.T) {
	was := inputs()
	now := inputs()
	now.ToolVersion = "v2"
	now.Observed.Account = "2"
	now.Manifest = &manifest.Manifest{Files: []string{"m.yaml"}, Digests: []string{"abd"},
		Devices: []manifest.Device{{Name: "alice", Outfile: "/w/out/alice.age", Recipients: []string{"age1b"}}}}
	f := File{Fingerprint: fp(was), Components: Components(was)}
	err := f.Check(fp(now), Components(now))
	if !errors.Is(err, ErrStale) {
		t.Fatalf("Check: %v, want ErrStale", err)
	}
	for _, want := range []string{"manifest m.yaml changed", "recipients of device alice changed", "account 1 → 2", "tool version v1 → v2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "settings of device alice") {
		t.Errorf("%q names settings that did not change", err)
	}
	if err := f.Check(fp(was), Components(was)); err != nil {
		t.Errorf("an unchanged plan: %v", err)
	}
	edited := f
	edited.Components = Components(now)
	if err := edited.Check(fp(was), Components(was)); !errors.Is(err, ErrStale) {
		t.Errorf("components edited to disagree with the fingerprint: %v", err)
	}
}

func TestCheckDoc(t *testing.T) {
	doc := jsonplan.Doc{Account: "1", Changes: []jsonplan.Change{{Action: "create", Device: "alice"}}}
	if err := CheckDoc(doc, doc); err != nil {
		t.Errorf("the same document: %v", err)
	}
	spliced := doc
	spliced.Changes = []jsonplan.Change{{Action: "create", Device: "mallory"}}
	if err := CheckDoc(spliced, doc); !errors.Is(err, ErrStale) {
		t.Errorf("a spliced document: %v, want ErrStale", err)
	}
}

func TestWriteReadCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan.json")
	c := Components(inputs())
	if err := Write(path, File{Fingerprint: Fingerprint(c), Components: c, Manifests: []string{"m.yaml"}}); err != nil {
		t.Fatal(err)
	}
	f, err := Read(path)
	if err != nil || f.Check(Fingerprint(c), c) != nil || !errors.Is(f.Check("f2", nil), ErrStale) {
		t.Fatalf("read %+v, %v", f, err)
	}
	if !slices.Equal(f.Manifests, []string{"m.yaml"}) {
		t.Errorf("manifests %q", f.Manifests)
	}
	if _, err := Read("planfile_test.go"); err == nil {
		t.Error("a Go file read as a saved plan")
	}
	old := filepath.Join(t.TempDir(), "old.json")
	if err := os.WriteFile(old, []byte(`{"format_version":"1","fingerprint":"ab","manifests":["/m.yaml"],"plan":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(old); !errors.Is(err, ErrOldFormat) {
		t.Errorf("a format 1 plan: %v, want ErrOldFormat", err)
	}
}

// TestStoreInFingerprint: the store a device's files are kept in is part
// of what a plan was computed from, and a stale plan names it; a plan of
// folders keeps the components it had before stores.
func TestStoreInFingerprint(t *testing.T) {
	if _, ok := Components(inputs())["store"]; ok {
		t.Error("a plan of folders has a store component")
	}
	inStore := func(url, kms string) Inputs {
		in := inputs()
		s, err := manifest.ParseStore(url, kms)
		if err != nil {
			t.Fatal(err)
		}
		in.Manifest = &manifest.Manifest{Files: in.Manifest.Files, Digests: in.Manifest.Digests, Stores: []manifest.Store{s},
			Devices: []manifest.Device{{Name: "alice", Outfile: s.URL + "out/alice.age", Recipients: []string{"age1a"}, Store: s}}}
		return in
	}
	was := inStore("s3://mfa-outfiles/q4/", "")
	f := File{Fingerprint: fp(was), Components: Components(was)}
	if err := f.Check(fp(was), Components(was)); err != nil {
		t.Errorf("an unchanged plan: %v", err)
	}
	if fp(inStore("s3://mfa-outfiles/q4/", "")) != fp(was) {
		t.Error("the same store in another run changed the fingerprint")
	}
	moved := was
	moved.WorkDir = "/elsewhere"
	if fp(moved) != fp(was) {
		t.Error("the working folder changed the fingerprint of a plan into a store")
	}
	for _, tt := range []struct {
		name string
		now  Inputs
		want string
	}{
		{"another prefix", inStore("s3://mfa-outfiles/q1/", ""), "store s3://mfa-outfiles/q4/ → s3://mfa-outfiles/q1/"},
		{"another bucket", inStore("s3://other-bucket/q4/", ""), "store s3://mfa-outfiles/q4/ → s3://other-bucket/q4/"},
		{"a KMS key", inStore("s3://mfa-outfiles/q4/", "alias/mfa"), "store s3://mfa-outfiles/q4/ → s3://mfa-outfiles/q4/ (kmsKeyId alias/mfa)"},
		{"back to the folder", inputs(), "store s3://mfa-outfiles/q4/ → (none)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if fp(tt.now) == fp(was) {
				t.Fatal("the fingerprint did not change")
			}
			err := f.Check(fp(tt.now), Components(tt.now))
			var se *StaleError
			if !errors.As(err, &se) || !slices.Contains(se.Changes, tt.want) {
				t.Errorf("Check: %v; want a change %q", err, tt.want)
			}
		})
	}
	// From the folder into a store: the store is new.
	old := inputs()
	fromFolder := File{Fingerprint: fp(old), Components: Components(old)}
	err := fromFolder.Check(fp(was), Components(was))
	if err == nil || !strings.Contains(err.Error(), "store (none) → s3://mfa-outfiles/q4/") {
		t.Errorf("into a store: %v", err)
	}
}
