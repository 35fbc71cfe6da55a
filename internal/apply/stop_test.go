package apply_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"filippo.io/age"

	"github.com/mfabulk/mfabulk/internal/apply"
)

// TestStopStartsNoDevice: once Stop is closed, Run starts nothing more:
// no intent is written and no call is made for the devices left, each of
// which is reported as not started, and the result says it was
// interrupted.
func TestStopStartsNoDevice(t *testing.T) {
	srv, client := newAccount(t)
	id, _ := age.GenerateX25519Identity()
	dir := filepath.Join(t.TempDir(), "out")
	p := mustPlan(t, devices(t, dir, id.Recipient().String(), "a", "b", "c"))
	stop := make(chan struct{})
	close(stop)
	res, err := apply.Run(context.Background(), client, p, apply.Options{Parallelism: 2, Stop: stop})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted {
		t.Error("result not marked interrupted")
	}
	for _, o := range res.Outcomes {
		if !errors.Is(o.Err, apply.ErrNotStarted) || !o.NotAttempted {
			t.Errorf("%s: %+v, want not started", o.Device, o)
		}
	}
	if n := srv.Requests()["CreateVirtualMFADevice"]; n != 0 {
		t.Errorf("%d creates after the stop", n)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".*.intent")); len(m) > 0 {
		t.Errorf("intents written after the stop: %v", m)
	}
}
