package apply_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/mfabulk/mfabulk/internal/apply"
	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal/localtest"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/totp"
)

// serverClock is a settable clock for iamlocal.Options.Now.
type serverClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *serverClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *serverClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// A leaver's device is pruned (--prune --allow-deactivate) from a plan
// made earlier (a saved plan; the confirmation prompt). Between the plan
// and the apply, a person deleted it, created a device of the same name
// (the same serial) and enabled it for the user again: that device is not
// the one the plan showed, and apply must neither deactivate nor delete
// it, nor move anything aside.
func TestLeaverRecreatedSincePlanIsKept(t *testing.T) {
	clk := &serverClock{t: time.Now().UTC()}
	srv, url := localtest.Start(t, iamlocal.Options{Now: clk.Now})
	client, err := iamclient.New(context.Background(), iamclient.Options{EndpointURL: url, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := srv.CreateUser("leo", "/"); err != nil {
		t.Fatal(err)
	}
	id, _ := age.GenerateX25519Identity()
	dir := filepath.Join(t.TempDir(), "out")
	devs := devices(t, dir, id.Recipient().String(), "keep", "leo")
	devs[1].User = "leo"
	if res, err := apply.Run(ctx, client, observedPlan(t, client, devs, plan.Options{}), apply.Options{}); err != nil || len(res.Failed()) > 0 {
		t.Fatalf("first apply: %v %v", err, res.Failed())
	}
	p := observedPlan(t, client, devs[:1], plan.Options{Prune: true, Scopes: []string{"/"}, AllowDeactivate: true})
	var leo *plan.Change
	for i, c := range p.Changes {
		if c.Name == "leo" {
			leo = &p.Changes[i]
		}
	}
	if leo == nil || leo.Action != plan.Delete || leo.Deactivate != "leo" {
		t.Fatalf("plan: %+v, want leo deactivated and deleted", p.Changes)
	}

	// Deleted, created again and enabled again, a minute later.
	old, _ := srv.Device("leo")
	if err := client.Deactivate(ctx, "leo", old.Serial); err != nil {
		t.Fatal(err)
	}
	if err := client.Delete(ctx, old.Serial); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	created, err := client.Create(ctx, "leo", "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	c1, c2, err := totp.Pair(created.Base32StringSeed, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Enable(ctx, "leo", created.Serial, c1, c2); err != nil {
		t.Fatal(err)
	}
	deactivates := srv.Requests()["DeactivateMFADevice"]

	res, err := apply.Run(ctx, client, p, apply.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.Outcomes {
		if o.Device == "leo" && (o.Err == nil || !strings.Contains(o.Err.Error(), "changed since plan")) {
			t.Errorf("the prune of leo, recreated since plan: %v, want it refused as changed since plan", o.Err)
		}
	}
	if d, ok := srv.Device("leo"); !ok || d.User != "leo" || string(d.Seed) != string(created.Base32StringSeed) {
		t.Errorf("the device recreated since plan was deactivated or deleted: %+v (present %v)", d, ok)
	}
	if n := srv.Requests()["DeactivateMFADevice"] - deactivates; n != 0 {
		t.Errorf("%d deactivate call(s) on a device that changed since plan", n)
	}
	if a, _ := filepath.Glob(filepath.Join(dir, "leo.txt.age.replaced-*")); len(a) > 0 {
		t.Errorf("its outfile was moved aside: %q", a)
	}
}
