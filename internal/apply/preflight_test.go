package apply_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/mfabulk/mfabulk/internal/apply"
	"github.com/mfabulk/mfabulk/internal/apply/applytest"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/store"
	"github.com/mfabulk/mfabulk/internal/store/stores"
)

// slowStore is the folder store, but each question of whether an outfile
// exists is a round trip that waits for another question to be asked
// meanwhile, up to a second: as a bucket's HEADs are, asked one at a time
// they add up.
type slowStore struct {
	*stores.Set
	asked chan struct{}
	alone chan string // devices whose question met no other
}

func (s *slowStore) Files(ctx context.Context, d manifest.Device) (store.Files, error) {
	f, err := s.Set.Files(ctx, d)
	if err != nil {
		return nil, err
	}
	return &slowFiles{Files: f, s: s, name: d.Name}, nil
}

type slowFiles struct {
	store.Files
	s    *slowStore
	name string
}

func (f *slowFiles) Exists(ctx context.Context) (bool, error) {
	select {
	case f.s.asked <- struct{}{}: // another question is waiting: both go on
	case <-f.s.asked:
	case <-time.After(time.Second):
		f.s.alone <- f.name
	}
	return f.Files.Exists(ctx)
}

// TestPreflightAsksAboutOutfilesTogether: apply's preflight asks whether
// each written device's outfile exists before any IAM call; in a bucket
// each question is a HEAD, and asked one after another they held the
// first create back a round trip per device (make bench: 300 devices, S3
// at 20 ms, 8 s). They are asked together, a few at a time.
func TestPreflightAsksAboutOutfilesTogether(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	p := mustPlan(t, devices(t, dir, id.Recipient().String(), "a", "b", "c", "d"))
	set := stores.New(stores.Options{})
	defer set.Close()
	st := &slowStore{Set: set, asked: make(chan struct{}), alone: make(chan string, 64)}
	res, err := apply.Run(context.Background(), applytest.New(), p, apply.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.Outcomes {
		if o.Err != nil {
			t.Errorf("%s: %v", o.Device, o.Err)
		}
	}
	// The devices' own questions, under their intents, are Held's, not
	// slowFiles': only the preflight's four come here, and meet in pairs.
	close(st.alone)
	var alone []string
	for name := range st.alone {
		alone = append(alone, name)
	}
	if len(alone) > 0 {
		t.Errorf("the preflight asked about the outfiles of %v one at a time, each a round trip alone", alone)
	}
}
