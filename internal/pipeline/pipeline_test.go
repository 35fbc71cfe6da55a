package pipeline_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal/localtest"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/pipeline"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/refresh"
)

const key = "age1rx5zrrd45u7mmgrrpjr5j2utf3fs7m7gl7twncerl5d96cmm53fs9avgcs"

func writeManifest(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "m.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func options(t *testing.T, url string, files ...string) (pipeline.Options, *int) {
	connects := new(int)
	return pipeline.Options{
		Files: files, ToolVersion: "test",
		Connect: func(ctx context.Context) (refresh.API, error) {
			*connects++
			return iamclient.New(ctx, iamclient.Options{EndpointURL: url})
		},
		TagsUnsupported: iamclient.TagsUnsupported,
	}, connects
}

// Plan goes from manifest files to a fingerprinted plan over the wire,
// with the user's options carried through refresh and compute.
func TestPlanOverTheWire(t *testing.T) {
	srv, url := localtest.Start(t, iamlocal.Options{})
	srv.CreateDevice("bob", "/team/") // no outfile here: a mismatch
	m := writeManifest(t, "version: 1\ndefaults:\n  path: /team/\n  recipients: ["+key+"]\n  tags: {team: a}\ndevices:\n  - name: alice\n  - name: bob\n  - name: carol\n")
	o, _ := options(t, url, m)
	o.Plan = plan.Options{Targets: []string{"alice", "bob"}}
	pl, err := pipeline.Plan(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if pl.Plan.Account != "123456789012" || pl.Plan.Count(plan.Create) != 1 || pl.Plan.Count(plan.Mismatch) != 1 || len(pl.Plan.Changes) != 2 {
		t.Errorf("plan: %+v", pl.Plan.Changes)
	}
	if !pl.Options.ManageTags || pl.Options.Targets[0] != "alice" || pl.Fingerprint == "" {
		t.Errorf("options %+v, fingerprint %q", pl.Options, pl.Fingerprint)
	}
	// Tags were read only for the targeted device that exists.
	if n := srv.Requests()["ListMFADeviceTags"]; n != 1 {
		t.Errorf("%d tag reads, want 1", n)
	}
	again, err := pipeline.Plan(context.Background(), o)
	if err != nil || again.Fingerprint != pl.Fingerprint {
		t.Errorf("same inputs, fingerprint %q then %q (%v)", pl.Fingerprint, again.Fingerprint, err)
	}
	o.Plan.Targets = nil
	all, err := pipeline.Plan(context.Background(), o)
	if err != nil || all.Fingerprint == pl.Fingerprint {
		t.Errorf("another --target kept the fingerprint (%v)", err)
	}
}

// A bad manifest is reported as diagnostics before anything connects.
func TestBadManifestConnectsToNothing(t *testing.T) {
	m := writeManifest(t, "version: 1\ndevices:\n  - name: 'a b'\n")
	o, connects := options(t, "http://127.0.0.1:9", m)
	_, err := pipeline.Plan(context.Background(), o)
	var diags manifest.Diagnostics
	if !errors.As(err, &diags) || len(diags) == 0 || *connects != 0 {
		t.Fatalf("err %v, %d connects", err, *connects)
	}
	o.Files = nil
	if _, err := pipeline.Plan(context.Background(), o); !errors.Is(err, pipeline.ErrNoManifest) || *connects != 0 {
		t.Fatalf("no files: %v, %d connects", err, *connects)
	}
}
