// Package refresh reads what plan needs to know about an account: its
// virtual MFA devices, the tags of the manifest's devices (only when the
// manifest manages tags, so that tagless manifests make no tag call and
// work against endpoints without tag support), and the journal's intents.
package refresh

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/store"
	"github.com/mfabulk/mfabulk/internal/store/stores"
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
	// UserDevices returns the serials of every MFA device enabled for a
	// user (ListMFADevices): virtual, hardware and FIDO.
	UserDevices(ctx context.Context, user string) ([]string, error)
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
	// Store is where the devices' outfiles, records and intents are read
	// (internal/store/stores); nil reads the folders next to the
	// manifests.
	Store Store
}

// Store is what refresh reads of the devices' store: each device's
// evidence (store.Backend.Read).
type Store interface {
	Read(ctx context.Context, account string, devices []manifest.Device) (map[string]store.Evidence, error)
}

// Observe reads the account and the store (opts.Store) for manifest m.
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
		if obs.UserMFA, err = countUserMFA(ctx, api, m, &obs, opts); err != nil {
			return plan.Observed{}, err
		}
	}
	st := opts.Store
	if st == nil {
		set := stores.New(stores.Options{})
		// Read only reads: closing can lose nothing.
		defer func() { _ = set.Close() }()
		st = set
	}
	if err := readJournal(ctx, st, &obs, m.Devices); err != nil {
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

// countUserMFA counts the MFA devices of every kind of each user the plan
// may enable a device for (a targeted manifest device names the user, the
// user exists, and the device is not already theirs): IAM's limit of 8
// per user counts hardware and FIDO devices too, which only ListMFADevices,
// one call per user, shows. A user deleted since ListUsers is dropped from
// obs.Users, so the plan calls it missing.
func countUserMFA(ctx context.Context, api API, m *manifest.Manifest, obs *plan.Observed, opts Options) (map[string]int, error) {
	assigned := map[string]string{} // lower-case device name → lower-case user
	for _, o := range obs.Devices {
		assigned[strings.ToLower(o.Name)] = strings.ToLower(o.User)
	}
	targeted := map[string]bool{}
	for _, t := range opts.Targets {
		targeted[strings.ToLower(t)] = true
	}
	var users []string
	seen := map[string]bool{}
	for _, d := range m.Devices {
		u, name := strings.ToLower(d.User), strings.ToLower(d.Name)
		if u == "" || seen[u] || obs.Users[u] == "" || assigned[name] == u || (len(targeted) > 0 && !targeted[name]) {
			continue
		}
		seen[u] = true
		users = append(users, obs.Users[u])
	}
	limit := opts.Parallelism
	if limit <= 0 {
		limit = 8
	}
	var mu sync.Mutex
	counts := make(map[string]int, len(users))
	var gone []string
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for _, u := range users {
		g.Go(func() error {
			serials, err := api.UserDevices(gctx, u)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case device.ErrorCode(err) == "NoSuchEntity":
				gone = append(gone, u)
			case err != nil:
				return fmt.Errorf("counting the MFA devices of user %s: %w", u, err)
			default:
				counts[strings.ToLower(u)] = len(serials)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, u := range gone {
		delete(obs.Users, strings.ToLower(u))
	}
	return counts, nil
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

// readJournal reads what each manifest device's store holds (see
// store.Backend.Read): the outfile, its record (whose device's secret it
// is), and an intent left by an earlier run of this account, or by a live
// run, or one that is not this plan's. A device whose folder does not
// exist yet holds nothing, and has no entry.
func readJournal(ctx context.Context, st Store, obs *plan.Observed, devices []manifest.Device) error {
	obs.Local, obs.Busy, obs.Untrusted = map[string]plan.Local{}, map[string]bool{}, map[string]string{}
	evidence, err := st.Read(ctx, obs.Account, devices)
	if err != nil {
		return err
	}
	for _, d := range devices {
		ev, ok := evidence[d.Name]
		if !ok {
			continue
		}
		obs.Local[d.Name] = local(obs, d, ev)
	}
	return nil
}

// local is what a plan knows of a device from its evidence in the store;
// a busy or untrusted intent is noted in obs.
func local(obs *plan.Observed, d manifest.Device, ev store.Evidence) plan.Local {
	l := plan.Local{Outfile: ev.Outfile}
	if rec := ev.Record; l.Outfile && rec != nil && rec.Account == obs.Account && rec.Device == d.Name && rec.Path == d.Path {
		l.OutfileID = rec.CreateID
		// Only the ciphertext the re-seal named before it put it: a file
		// of a person's put at the name since (an old aside copy) is not
		// what the re-seal wrote, and is never recorded as the device's.
		resealed := ev.Intent.State == journal.Pending && ev.Intent.Intent != nil && ev.Intent.Intent.Action == string(plan.Reseal) &&
			ev.Intent.Intent.CreateID == rec.CreateID && journal.Proves(ev.Intent.Intent.Proof, rec.CreateID) &&
			ev.Intent.Intent.NewOutfileSHA256 != "" && ev.OutfileSHA256 == ev.Intent.Intent.NewOutfileSHA256
		switch {
		case ev.Proven:
			l.RecordProof = rec.Proof
			l.Recipients, l.RecipientsKnown = rec.Recipients, len(rec.Recipients) > 0
			l.OutfileSHA256, l.SecretMAC = rec.OutfileSHA256, rec.SecretMAC
		case resealed:
			// A re-seal replaced the outfile and was stopped before its
			// record: the intent, which proves the create ID, settles it.
		case rec.Proof == "":
			l.Unproven = "the record beside its outfile carries no proof of its create ID (an older mfabulk wrote it, or it was made from the device's tag)"
		default:
			l.Unproven = "the record beside its outfile does not prove its create ID, or is not bound to this outfile (copied from elsewhere, or the outfile was changed)"
		}
	}
	switch st := ev.Intent; st.State {
	case journal.Busy:
		obs.Busy[d.Name] = true
	case journal.Foreign:
		obs.Untrusted[d.Name] = st.Reason
	case journal.Pending:
		in := st.Intent
		// A replace stopped before its old outfile was moved aside (S3:
		// copied to the aside key, not yet deleted): the outfile is the
		// replaced device's, by its record, and the replace is still to
		// be done, not a new outfile to record.
		replaced := in.Action == string(plan.Replace) && in.Replaces != "" && l.OutfileID == in.Replaces
		if in.Action == string(plan.Reseal) && ev.Proven {
			// A re-seal stopped before it replaced the outfile: the
			// outfile and its record stand, and the re-seal is planned
			// again, taking this intent over.
			l.IntentAction, l.IntentID, l.IntentVersion = in.Action, in.CreateID, ev.IntentVersion
			break
		}
		if l.Outfile && l.OutfileID == "" {
			// Killed after the outfile was durable and before its
			// record: the intent says which create the outfile is.
			l.OutfileID = in.CreateID
		}
		l.Pending, l.Unsettled = !l.Outfile || replaced, l.Outfile && !replaced
		l.IntentAction, l.IntentID, l.IntentReplaces = in.Action, in.CreateID, in.Replaces
		l.IntentVersion = ev.IntentVersion
		l.IntentRecipients = in.Recipients
		l.IntentSecretMAC = in.SecretMAC
		if in.Action == string(plan.Reseal) && l.Outfile && (in.NewOutfileSHA256 == "" || ev.OutfileSHA256 != in.NewOutfileSHA256) {
			l.ResealFound = ev.OutfileSHA256
			if l.ResealFound == "" {
				l.ResealFound = "none"
			}
		}
		if journal.Proves(in.Proof, in.CreateID) {
			l.IntentProof = in.Proof
		} else if in.CreateID != "" {
			l.Unproven = "its intent carries no proof of its create ID (an older mfabulk wrote it, or it was made from the device's tag)"
		}
		if journal.Proves(in.ReplacesProof, in.Replaces) {
			l.ReplacesProof = in.ReplacesProof
		}
	}
	return l
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
