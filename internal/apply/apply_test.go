package apply_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/mfabulk/mfabulk/internal/apply"
	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal/localtest"
	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/seal"
)

// newAccount starts iamlocal and a real SDK client talking to it over HTTP.
func newAccount(t *testing.T) (*iamlocal.Server, *iamclient.Client) {
	t.Helper()
	srv, url := localtest.Start(t, iamlocal.Options{})
	c, err := iamclient.New(context.Background(), iamclient.Options{EndpointURL: url, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func devices(t *testing.T, dir string, recipient string, names ...string) []manifest.Device {
	var out []manifest.Device
	for _, n := range names {
		out = append(out, manifest.Device{
			Name: n, Path: "/", Bootstrap: "Base32StringSeed",
			Outfile:    filepath.Join(dir, n+".txt.age"),
			Recipients: []string{recipient},
			Pos:        manifest.Pos{File: filepath.Join(filepath.Dir(dir), "m.yaml")},
		})
	}
	return out
}

func TestRunSealsEverySecret(t *testing.T) {
	srv, client := newAccount(t)
	id, _ := age.GenerateX25519Identity()
	dir := filepath.Join(t.TempDir(), "out")
	p := mustPlan(t, devices(t, dir, id.Recipient().String(), "a", "b", "c", "d", "e"))
	res, err := apply.Run(context.Background(), client, p, apply.Options{Parallelism: 3})
	if err != nil || len(res.Failed()) != 0 {
		t.Fatalf("Run: %v, failed: %v", err, res.Failed())
	}
	for _, o := range res.Outcomes {
		ct, err := os.ReadFile(o.Outfile)
		if err != nil {
			t.Fatal(err)
		}
		pt, err := seal.Decrypt(ct, []age.Identity{id})
		d, _ := srv.Device(o.Device)
		if err != nil || string(pt) != string(d.Seed) {
			t.Errorf("%s: outfile does not hold the issued seed (%v)", o.Device, err)
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("outfile folder mode = %v, want 0700", fi.Mode().Perm())
	}
}

// afterCreate is the real client, with a hook that runs once IAM has
// created a device and before its outfile is written.
type afterCreate struct {
	*iamclient.Client
	hook func()
}

func (a afterCreate) Create(ctx context.Context, name, path string, tags map[string]string) (*device.Created, error) {
	c, err := a.Client.Create(ctx, name, path, tags)
	a.hook()
	return c, err
}

// TestRunRollsBackWhenOutfileCannotBeWritten removes the outfile folder
// between IAM's create and the write, so every write fails: each device
// must be deleted again, leaving no device whose seed nobody holds.
func TestRunRollsBackWhenOutfileCannotBeWritten(t *testing.T) {
	srv, client := newAccount(t)
	id, _ := age.GenerateX25519Identity()
	dir := filepath.Join(t.TempDir(), "out")
	p := mustPlan(t, devices(t, dir, id.Recipient().String(), "a", "b", "c"))
	api := afterCreate{client, func() { os.RemoveAll(dir) }}
	res, err := apply.Run(context.Background(), api, p, apply.Options{Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failed()) != 3 {
		t.Fatalf("%d failed, want 3", len(res.Failed()))
	}
	// The first device is created, then its folder vanishes: it is rolled
	// back. The others cannot record their intent any more, so they are
	// never created at all.
	a := res.Outcomes[0]
	if !a.RolledBack || !strings.Contains(a.Err.Error(), "was deleted again") {
		t.Errorf("a: not rolled back: %v", a.Err)
	}
	for _, o := range res.Outcomes[1:] {
		if o.RolledBack || o.Serial != "" || !strings.Contains(o.Err.Error(), "journal") {
			t.Errorf("%s: %+v", o.Device, o)
		}
	}
	if n := srv.Requests()["CreateVirtualMFADevice"]; n != 1 {
		t.Errorf("%d creates, want 1", n)
	}
	if n := len(srv.Devices()); n != 0 {
		t.Errorf("%d devices remain after rollback, want 0", n)
	}
}

// TestRunReportsFailedRollback makes the delete fail too: the error must
// name the serial number so a person can clean up.
func TestRunReportsFailedRollback(t *testing.T) {
	_, client := newAccount(t)
	id, _ := age.GenerateX25519Identity()
	dir := filepath.Join(t.TempDir(), "out")
	p := mustPlan(t, devices(t, dir, id.Recipient().String(), "b"))
	api := deleteFails{afterCreate{client, func() { os.RemoveAll(dir) }}}
	res, _ := apply.Run(context.Background(), api, p, apply.Options{})
	o := res.Outcomes[0]
	if o.RolledBack || !o.SeedLost || !strings.Contains(o.Err.Error(), "ROLLBACK FAILED, device arn:aws:iam::123456789012:mfa/b exists") {
		t.Fatalf("want a loud failed rollback naming the serial, got %v", o.Err)
	}
}

// deleteFails is a real client whose deletes are refused, as when the
// caller lacks iam:DeleteVirtualMFADevice.
type deleteFails struct{ afterCreate }

func (deleteFails) Delete(context.Context, string) error {
	return os.ErrPermission
}

func TestPreflightChangesNothing(t *testing.T) {
	srv, client := newAccount(t)
	dir := t.TempDir()
	p := mustPlan(t, devices(t, dir, "age1nope", "a"))
	_, err := apply.Run(context.Background(), client, p, apply.Options{})
	if _, ok := err.(*apply.PreflightError); !ok {
		t.Fatalf("want a PreflightError, got %v", err)
	}
	if n := srv.Requests()["CreateVirtualMFADevice"]; n != 0 {
		t.Errorf("%d creates after a failed preflight", n)
	}
}

func mustPlan(t *testing.T, devs []manifest.Device) plan.Plan {
	t.Helper()
	p, err := plan.Compute(devs, plan.Observed{Account: "123456789012"}, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
