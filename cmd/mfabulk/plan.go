package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/plan/jsonplan"
	"github.com/mfabulk/mfabulk/internal/plan/planfile"
	"github.com/mfabulk/mfabulk/internal/refresh"
	"github.com/mfabulk/mfabulk/internal/view"
)

func newPlanCmd(streams IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plan -f MANIFEST",
		Short: "Show how the account differs from the manifest",
		Long: `plan reads the account's virtual MFA devices (and, when the manifest declares
tags, their tags) and shows what apply would do. It only reads.

--output text (default), json (format documented in package jsonplan) or
markdown (for pull-request comments). --out FILE saves the plan for
"apply FILE", which refuses it if anything changed since. With
--detailed-exitcode it exits 0 when the account matches the manifest, 2 when
there are changes, and 1 on error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := loadSettings(cmd)
			if err != nil {
				return err
			}
			pl, err := computePlan(cmd.Context(), s, streams, manifestFiles(s), planOptionsFrom(s))
			if err != nil {
				return err
			}
			if out := s.str("out"); out != "" {
				if err := planfile.Write(out, pl.saved()); err != nil {
					return fmt.Errorf("saving the plan: %w", err)
				}
			}
			if err := renderPlan(s, streams, pl.plan); err != nil {
				return err
			}
			if s.boolean("detailed-exitcode") && pl.plan.HasChanges() {
				return exitCodeError{exitChanges}
			}
			return nil
		},
	}
	addManifestFlag(cmd)
	addAWSFlags(cmd)
	addPlanFlags(cmd)
	cmd.Flags().Bool("detailed-exitcode", false, "exit 0 with no changes, 2 with changes, 1 on error")
	cmd.Flags().StringP("output", "o", "text", "output `format`: text, json or markdown")
	cmd.Flags().String("out", "", "save the plan to `file` for a later apply")
	return cmd
}

// addPlanFlags adds the options that shape a plan, shared by plan and apply.
func addPlanFlags(cmd *cobra.Command) {
	cmd.Flags().Bool("prune", false, "delete devices inside the manifest's scope.paths that it does not list")
	cmd.Flags().StringArray("target", nil, "limit the plan to the device `name` (repeatable)")
	cmd.Flags().StringArray("replace", nil, "recreate the device `name` with a new secret; its old outfile is kept, renamed (repeatable)")
	cmd.Flags().Int("parallelism", 8, "AWS calls in flight at once")
}

// savedOptions are the plan options as a saved plan records them.
func planOptionsFrom(s settings) planfile.Options {
	return planfile.Options{Prune: s.boolean("prune"), Targets: s.v.GetStringSlice("target"), Replace: s.v.GetStringSlice("replace")}
}

// planned is a computed plan with everything it was computed from.
type planned struct {
	plan     plan.Plan
	fp       string
	opts     planfile.Options
	client   *iamclient.Client
	manifest *manifest.Manifest
}

func (p planned) saved() planfile.File {
	return planfile.File{Fingerprint: p.fp, Manifests: p.manifest.Files, Options: p.opts, Plan: jsonplan.From(p.plan, version, view.Rel)}
}

// computePlan validates the manifests, reads the account and diffs.
func computePlan(ctx context.Context, s settings, streams IO, files []string, so planfile.Options) (planned, error) {
	m, err := loadManifestFiles(files, streams)
	if err != nil {
		return planned{}, err
	}
	client, err := iamclient.New(ctx, s.awsOptions(streams))
	if err != nil {
		return planned{}, err
	}
	rp := view.NewRefreshProgress(streams.Err, streams.OutTTY)
	obs, err := refresh.Observe(ctx, client, m, refresh.Options{Parallelism: s.integer("parallelism"), Targets: so.Targets, Progress: rp.Update, Unsupported: iamclient.TagsUnsupported})
	rp.Done()
	if err != nil {
		return planned{}, err
	}
	opts := plan.Options{ManageTags: m.ManagesTags, Scopes: m.Scopes, Prune: so.Prune, Targets: so.Targets, Replace: so.Replace}
	p, err := plan.Compute(m.Devices, obs, opts)
	if err != nil {
		return planned{}, err
	}
	fp := planfile.Fingerprint(version, m, obs, opts)
	return planned{plan: p, fp: fp, opts: so, client: client, manifest: m}, nil
}

func renderPlan(s settings, streams IO, p plan.Plan) error {
	switch s.str("output") {
	case "json":
		enc := json.NewEncoder(streams.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(jsonplan.From(p, version, view.Rel))
	case "markdown":
		view.PlanMarkdown(streams.Out, p)
	case "text", "":
		view.PlanText(streams.Out, p, styleFor(streams))
	default:
		return withHint(fmt.Errorf("unknown output format %q", s.str("output")), "use --output text, json or markdown")
	}
	return nil
}
