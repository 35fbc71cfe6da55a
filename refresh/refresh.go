// Package refresh reads what plan needs to know about an account: its
// virtual MFA devices, the tags of the manifest's devices (only when the
// manifest manages tags, so that tagless manifests make no tag call and
// work against endpoints without tag support), and the journal's intents.
package refresh

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/mfabulk/mfabulk/atomicfile"
	"github.com/mfabulk/mfabulk/device"
	"github.com/mfabulk/mfabulk/journal"
	"github.com/mfabulk/mfabulk/manifest"
	"github.com/mfabulk/mfabulk/plan"
)

// API is what refresh reads from IAM and STS.
type API interface {
	Account(ctx context.Context) (account, partition string, err error)
	ListDevices(ctx context.Context) ([]device.Observed, error)
	ListTags(ctx context.Context, serial string) (map[string]string, error)
}

// Options tune a refresh.
type Options struct {
	Parallelism int      // tag reads in flight at once; 0 means 8
	Targets     []string // when set, read tags of these devices only
	// Progress, if set, is told how many tag reads are done of how many,
	// from one goroutine at a time.
	Progress func(done, total int)
}

// Observe reads the account and the journal for manifest m.
func Observe(ctx context.Context, api API, m *manifest.Manifest, opts Options) (plan.Observed, error) {
	account, partition, err := api.Account(ctx)
	if err != nil {
		return plan.Observed{}, err
	}
	devices, err := api.ListDevices(ctx)
	if err != nil {
		return plan.Observed{}, err
	}
	obs := plan.Observed{Account: account, Partition: partition, Devices: devices}
	if err := readJournal(&obs, m.Devices); err != nil {
		return plan.Observed{}, err
	}
	if m.ManagesTags {
		if obs.Tags, err = readTags(ctx, api, m, devices, opts); err != nil {
			return plan.Observed{}, err
		}
	}
	return obs, nil
}

// readTags lists the tags of every manifest device that exists,
// concurrently.
func readTags(ctx context.Context, api API, m *manifest.Manifest, devices []device.Observed, opts Options) (map[string]map[string]string, error) {
	listed := map[string]bool{}
	for _, d := range m.Devices {
		listed[strings.ToLower(d.Name)] = true
	}
	targets := map[string]bool{}
	for _, t := range opts.Targets {
		targets[strings.ToLower(t)] = true
	}
	limit := opts.Parallelism
	if limit <= 0 {
		limit = 8
	}
	var todo []device.Observed
	for _, o := range devices {
		l := strings.ToLower(o.Name)
		if listed[l] && (len(targets) == 0 || targets[l]) {
			todo = append(todo, o)
		}
	}
	var mu sync.Mutex
	tags := map[string]map[string]string{}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for _, o := range todo {
		g.Go(func() error {
			t, err := api.ListTags(ctx, o.Serial)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			tags[o.Name] = t
			if opts.Progress != nil {
				opts.Progress(len(tags), len(todo))
			}
			return nil
		})
	}
	return tags, g.Wait()
}

// readJournal reads the intents of the manifest's devices: the devices an
// earlier run of this account meant to create and whose outfile does not
// exist (seed lost), those a live run is working on, and intent files that
// are not this plan's. Folders are opened without following links and
// checked as apply will check them, so that plan trusts no file apply
// would refuse; a folder that does not exist yet holds nothing.
func readJournal(obs *plan.Observed, devices []manifest.Device) error {
	obs.SeedLost, obs.Busy, obs.Untrusted = map[string]bool{}, map[string]bool{}, map[string]string{}
	folders := atomicfile.NewFolders(false)
	defer folders.Close()
	for _, d := range devices {
		base, rel, name := d.Location()
		dir, err := folders.Open(base, rel)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading the outfile folder of device %q: %w", d.Name, err)
		}
		st, err := journal.Inspect(dir, name, journal.Key{Account: obs.Account, Device: d.Name, Path: d.Path})
		if err != nil {
			return fmt.Errorf("reading the journal of device %q: %w", d.Name, err)
		}
		switch st.State {
		case journal.Busy:
			obs.Busy[d.Name] = true
		case journal.Foreign:
			obs.Untrusted[d.Name] = st.Reason
		case journal.Pending:
			exists, err := dir.Exists(name)
			if err != nil {
				return fmt.Errorf("reading the outfile of device %q: %w", d.Name, err)
			}
			if !exists {
				obs.SeedLost[d.Name] = true
			}
		}
	}
	return nil
}
