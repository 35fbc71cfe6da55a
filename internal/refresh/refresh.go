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

	"github.com/mfabulk/mfabulk/internal/atomicfile"
	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
)

// API is what refresh reads from IAM and STS.
type API interface {
	Account(ctx context.Context) (account, partition string, err error)
	ListDevices(ctx context.Context) ([]device.Observed, error)
	ListTags(ctx context.Context, serial string) (map[string]string, error)
	// ListTagsOnce reads tags with one attempt, to probe for support.
	ListTagsOnce(ctx context.Context, serial string) (map[string]string, error)
	// ListUsers returns the account's IAM user names.
	ListUsers(ctx context.Context) ([]string, error)
}

// TagsUnsupported classifies a probe's error: true when the endpoint does
// not speak ListMFADeviceTags at all. Set by the caller (the IAM client's
// classification), so that refresh does not import the SDK wrapper.
type TagsUnsupported func(error) bool

// Options tune a refresh.
type Options struct {
	Parallelism int      // tag reads at once, paced by the API client; 0 means 8
	Targets     []string // when set, read tags of these devices only
	// Progress, if set, is told how many tag reads are done of how many,
	// from one goroutine at a time.
	Progress func(done, total int)
	// Unsupported tells a probe's error that means "no tag support".
	Unsupported TagsUnsupported
}

// Observe reads the account and the journal for manifest m.
//
// Tags are read for every listed device that exists when the manifest
// manages tags, and otherwise for the devices this folder holds evidence
// about (an outfile record or an intent), so that their create IDs prove
// whose device is in the account. Against an endpoint that does not speak
// ListMFADeviceTags, those ownership reads are skipped and the plan says
// so; a manifest that manages tags still needs them.
func Observe(ctx context.Context, api API, m *manifest.Manifest, opts Options) (plan.Observed, error) {
	account, partition, err := api.Account(ctx)
	if err != nil {
		return plan.Observed{}, err
	}
	if m.Account != "" && account != m.Account {
		return plan.Observed{}, &AccountMismatchError{Manifest: m.Account, Caller: account}
	}
	devices, err := api.ListDevices(ctx)
	if err != nil {
		return plan.Observed{}, err
	}
	obs := plan.Observed{Account: account, Partition: partition, Devices: devices}
	if namesUsers(m) {
		// One paginated read, so that a user the account lacks is a
		// conflict in the plan, before any create.
		users, err := api.ListUsers(ctx)
		if err != nil {
			return plan.Observed{}, err
		}
		obs.Users = make(map[string]string, len(users))
		for _, u := range users {
			obs.Users[strings.ToLower(u)] = u
		}
	}
	if err := readJournal(&obs, m.Devices); err != nil {
		return plan.Observed{}, err
	}
	todo := tagReads(m, devices, obs.Local, opts.Targets)
	if len(todo) == 0 {
		return obs, nil
	}
	var probed map[string]string
	todo0Name := todo[0].Name
	if !m.ManagesTags && opts.Unsupported != nil {
		probed, err = api.ListTagsOnce(ctx, todo[0].Serial)
		if err != nil && opts.Unsupported(err) {
			obs.TagsUnsupported = true
			return obs, nil
		}
		if err == nil {
			todo = todo[1:] // read; not again
		}
	}
	tags, err := readTags(ctx, api, todo, opts)
	if err != nil {
		return plan.Observed{}, err
	}
	if probed != nil {
		tags[todo0Name] = probed
	}
	obs.CreateIDs = map[string]string{}
	for name, t := range tags {
		obs.CreateIDs[name] = t[device.CreateIDTag]
		delete(t, device.CreateIDTag) // mfabulk's own, never the manifest's
	}
	if m.ManagesTags {
		obs.Tags = tags
	}
	return obs, nil
}

// tagReads lists the existing devices whose tags a plan needs.
func tagReads(m *manifest.Manifest, devices []device.Observed, local map[string]plan.Local, targets []string) []device.Observed {
	need := map[string]bool{}
	for _, d := range m.Devices {
		l := local[d.Name]
		if m.ManagesTags || l.Pending || l.OutfileID != "" {
			need[strings.ToLower(d.Name)] = true
		}
	}
	targeted := map[string]bool{}
	for _, t := range targets {
		targeted[strings.ToLower(t)] = true
	}
	var todo []device.Observed
	for _, o := range devices {
		l := strings.ToLower(o.Name)
		if need[l] && (len(targeted) == 0 || targeted[l]) {
			todo = append(todo, o)
		}
	}
	return todo
}

// readTags lists the tags of the given devices, concurrently.
func readTags(ctx context.Context, api API, todo []device.Observed, opts Options) (map[string]map[string]string, error) {
	limit := opts.Parallelism
	if limit <= 0 {
		limit = 8
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

// readJournal reads what each manifest device's outfile folder holds: the
// outfile, its record (whose device's secret it is), and an intent left by
// an earlier run of this account, or by a live run, or one that is not
// this plan's. Folders are opened without following links and checked as
// apply will check them, so that plan trusts no file apply would refuse;
// a folder that does not exist yet holds nothing.
func readJournal(obs *plan.Observed, devices []manifest.Device) error {
	obs.Local, obs.Busy, obs.Untrusted = map[string]plan.Local{}, map[string]bool{}, map[string]string{}
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
		var l plan.Local
		if l.Outfile, err = dir.Exists(name); err != nil {
			return fmt.Errorf("reading the outfile of device %q: %w", d.Name, err)
		}
		if l.Outfile {
			rec, err := journal.ReadRecord(dir, name)
			if err != nil {
				return fmt.Errorf("reading the outfile record of device %q: %w", d.Name, err)
			}
			if rec != nil && rec.Account == obs.Account && rec.Device == d.Name && rec.Path == d.Path {
				l.OutfileID = rec.CreateID
			}
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
			if l.Outfile && l.OutfileID == "" {
				// Killed after the outfile was durable and before its
				// record: the intent says which create the outfile is.
				l.OutfileID = st.Intent.CreateID
			}
			l.Pending, l.Unsettled = !l.Outfile, l.Outfile
			l.IntentAction, l.IntentID, l.IntentReplaces = st.Intent.Action, st.Intent.CreateID, st.Intent.Replaces
		}
		obs.Local[d.Name] = l
	}
	return nil
}

// namesUsers reports whether any device of m names an IAM user.
func namesUsers(m *manifest.Manifest) bool {
	for _, d := range m.Devices {
		if d.User != "" {
			return true
		}
	}
	return false
}

// AccountMismatchError is returned, before any read of the account, when
// the manifests name another account than the credentials': the guard
// against applying a manifest to the wrong account.
type AccountMismatchError struct {
	Manifest, Caller string
}

func (e *AccountMismatchError) Error() string {
	return "the manifest is for account " + e.Manifest + ", but the AWS credentials are account " + e.Caller + "'s: nothing was read or changed"
}
