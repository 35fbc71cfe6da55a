// Package pipeline runs the read-only half of mfabulk, the same way for
// plan, apply and a saved plan's staleness check: load the manifests,
// refresh what the account and the journal hold, compute the plan, and
// fingerprint everything it was computed from.
//
// Call [Plan]. It reports manifest problems as [manifest.Diagnostics]
// before it connects to AWS, so a bad manifest makes no call at all.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/plan/planfile"
	"github.com/mfabulk/mfabulk/internal/refresh"
)

// ErrNoManifest is returned when no manifest file was given.
var ErrNoManifest = errors.New("no manifest given")

// Options are everything a plan is computed from, besides the account.
type Options struct {
	// Files are the manifests: files, or folders of *.yaml manifests.
	Files []string
	// Plan shapes the plan (--prune, --target, --replace); it is the one
	// options value that refresh, compute, the fingerprint and a saved
	// plan all use.
	Plan plan.Options
	// Parallelism bounds the tag reads in flight; 0 means refresh's default.
	Parallelism int
	// ToolVersion goes into the fingerprint: a saved plan made by another
	// version of mfabulk is stale.
	ToolVersion string
	// RoleTemplate (the run's --role) and WorkDir (outfiles count
	// relative to it) go into the fingerprint too; see planfile.Inputs.
	RoleTemplate, WorkDir string
	// Connect makes the AWS client, once the manifests are valid.
	Connect func(context.Context) (refresh.API, error)
	// TagsUnsupported classifies the client's errors (see refresh).
	TagsUnsupported refresh.TagsUnsupported
	// Progress, if set, is told how many tag reads are done of how many.
	Progress func(done, total int)
	// Store is where the devices' outfiles, records and intents are read
	// (see refresh.Options); nil reads the folders next to the manifests.
	Store refresh.Store
}

// Planned is a computed plan with everything it was computed from.
type Planned struct {
	Plan        plan.Plan
	Fingerprint string
	// Components are what the fingerprint hashes, by name
	// (planfile.Components), for a stale plan to say what changed.
	Components map[string]string
	Manifest   *manifest.Manifest
	// Options are the plan options as given; ManageTags and Scopes are
	// the manifest's, filled in by Plan.
	Options plan.Options
}

// Plan loads, refreshes, computes and fingerprints the manifests of one
// account (several are refused, as [manifest.Load] does).
func Plan(ctx context.Context, o Options) (Planned, error) {
	if len(o.Files) == 0 {
		return Planned{}, ErrNoManifest
	}
	m, err := manifest.Load(o.Files...)
	if err != nil {
		return Planned{}, loadError(err)
	}
	api, err := o.Connect(ctx)
	if err != nil {
		return Planned{}, err
	}
	return PlanManifest(ctx, o, m, api)
}

// Load reads the manifests grouped by account ([manifest.LoadAccounts]),
// reporting their problems as [manifest.Diagnostics].
func Load(files []string, lo manifest.LoadOptions) ([]*manifest.Manifest, error) {
	if len(files) == 0 {
		return nil, ErrNoManifest
	}
	ms, err := manifest.LoadAccounts(lo, files...)
	if err != nil {
		return nil, loadError(err)
	}
	return ms, nil
}

func loadError(err error) error {
	var diags manifest.Diagnostics
	if errors.As(err, &diags) {
		return diags
	}
	return fmt.Errorf("reading manifest: %w", err)
}

// PlanManifest refreshes, computes and fingerprints one account's
// manifest through api (o.Files and o.Connect are not used).
func PlanManifest(ctx context.Context, o Options, m *manifest.Manifest, api refresh.API) (Planned, error) {
	opts := o.Plan
	opts.ManageTags, opts.Scopes = m.ManagesTags, m.Scopes
	obs, err := refresh.Observe(ctx, api, m, refresh.Options{
		Parallelism: o.Parallelism,
		Targets:     opts.Targets,
		Progress:    o.Progress,
		Unsupported: o.TagsUnsupported,
		Store:       o.Store,
	})
	if err != nil {
		return Planned{}, err
	}
	p, err := plan.Compute(m.Devices, obs, opts)
	if err != nil {
		return Planned{}, err
	}
	c := planfile.Components(planfile.Inputs{ToolVersion: o.ToolVersion, Manifest: m, Observed: obs, Options: opts,
		RoleTemplate: o.RoleTemplate, WorkDir: o.WorkDir})
	return Planned{Plan: p, Fingerprint: planfile.Fingerprint(c), Components: c, Manifest: m, Options: opts}, nil
}

// ForAccount narrows --target and --replace names to one account's: a
// name given as ACCOUNT/NAME belongs to that account only, a bare name to
// every account whose manifest lists it (has). skip is set when targets
// were given and none is this account's: the account is left out.
func ForAccount(account string, po plan.Options, has func(name string) bool) (out plan.Options, skip bool) {
	out = po
	out.Targets, out.Replace = nil, nil
	narrow := func(names []string) []string {
		var mine []string
		for _, n := range names {
			if a, name, ok := strings.Cut(n, "/"); ok {
				if a == account {
					mine = append(mine, name)
				}
			} else if has(n) {
				mine = append(mine, n)
			}
		}
		return mine
	}
	out.Targets, out.Replace = narrow(po.Targets), narrow(po.Replace)
	return out, len(po.Targets) > 0 && len(out.Targets) == 0
}

// CheckNames refuses a --target or --replace name that names no device
// of any account's manifest (or, as ACCOUNT/NAME, an account no manifest
// is for), before any AWS call.
func CheckNames(ms []*manifest.Manifest, po plan.Options) error {
	byAccount := map[string]map[string]bool{}
	all := map[string]bool{}
	for _, m := range ms {
		names := map[string]bool{}
		for _, d := range m.Devices {
			names[strings.ToLower(d.Name)] = true
			all[strings.ToLower(d.Name)] = true
		}
		byAccount[m.Account] = names
	}
	for _, list := range []struct {
		flag  string
		names []string
	}{{"--target", po.Targets}, {"--replace", po.Replace}} {
		for _, n := range list.names {
			a, name, ok := strings.Cut(n, "/")
			switch {
			case !ok && len(ms) > 1 && list.flag == "--target" && !all[strings.ToLower(n)]:
				// Which account's device the manifests omit, only its
				// account can say: every account would skip it.
				return fmt.Errorf("--target %s: no manifest lists it; a device the manifests omit is named with its account, --target ACCOUNT/%s", n, n)
			case !ok:
				// A bare name may also be a device in the account that
				// the manifests omit (--target): Compute decides.
			case byAccount[a] == nil:
				return fmt.Errorf("%s %s: no manifest is for account %s", list.flag, n, a)
			case !byAccount[a][strings.ToLower(name)] && list.flag == "--replace":
				return fmt.Errorf("%s %s: no such device in account %s's manifests", list.flag, n, a)
			}
		}
	}
	return nil
}
