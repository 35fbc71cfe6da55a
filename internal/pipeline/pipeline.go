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
	// Connect makes the AWS client, once the manifests are valid.
	Connect func(context.Context) (refresh.API, error)
	// TagsUnsupported classifies the client's errors (see refresh).
	TagsUnsupported refresh.TagsUnsupported
	// Progress, if set, is told how many tag reads are done of how many.
	Progress func(done, total int)
}

// Planned is a computed plan with everything it was computed from.
type Planned struct {
	Plan        plan.Plan
	Fingerprint string
	Manifest    *manifest.Manifest
	// Options are the plan options as given; ManageTags and Scopes are
	// the manifest's, filled in by Plan.
	Options plan.Options
}

// Plan loads, refreshes, computes and fingerprints.
func Plan(ctx context.Context, o Options) (Planned, error) {
	if len(o.Files) == 0 {
		return Planned{}, ErrNoManifest
	}
	m, err := manifest.Load(o.Files...)
	var diags manifest.Diagnostics
	if errors.As(err, &diags) {
		return Planned{}, diags
	}
	if err != nil {
		return Planned{}, fmt.Errorf("reading manifest: %w", err)
	}
	api, err := o.Connect(ctx)
	if err != nil {
		return Planned{}, err
	}
	opts := o.Plan
	opts.ManageTags, opts.Scopes = m.ManagesTags, m.Scopes
	obs, err := refresh.Observe(ctx, api, m, refresh.Options{
		Parallelism: o.Parallelism,
		Targets:     opts.Targets,
		Progress:    o.Progress,
		Unsupported: o.TagsUnsupported,
	})
	if err != nil {
		return Planned{}, err
	}
	p, err := plan.Compute(m.Devices, obs, opts)
	if err != nil {
		return Planned{}, err
	}
	return Planned{Plan: p, Fingerprint: planfile.Fingerprint(o.ToolVersion, m, obs, opts), Manifest: m, Options: opts}, nil
}
