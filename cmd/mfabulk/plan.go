package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/pipeline"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/plan/planfile"
	"github.com/mfabulk/mfabulk/internal/store/stores"
	"github.com/mfabulk/mfabulk/internal/view"
)

// planOpts are plan's options, filled from its flags (and through them
// from MFABULK_* and the config file).
type planOpts struct {
	IO               IO
	AWS              awsOptions
	Plan             planFlags
	Output           string
	Out              string
	DetailedExitcode bool
}

func newPlanCmd(streams IO, runF func(context.Context, *planOpts) error) *cobra.Command {
	opts := &planOpts{IO: streams}
	cmd := &cobra.Command{
		Use:   "plan -f MANIFEST",
		Short: "Show how the account differs from the manifest",
		Long: `plan reads the account's virtual MFA devices (and, when the manifest declares
tags, their tags) and shows what apply would do. It only reads.

--output text (default), json (format documented in package jsonplan) or
markdown (for pull-request comments). --out FILE saves the plan for
"apply FILE -f MANIFEST…" (the same -f, from this folder or another of the
same layout), which refuses it if anything changed since, saying what;
"show-plan FILE" prints it again in any format. --plan-role TEMPLATE reads
each account through a read-only role instead of --role's, which the saved
plan keeps for apply (a job that only plans needs no role that changes
devices). With
--detailed-exitcode it exits 0 when the account matches the manifest, 2 when
there are changes, and 1 on error or when apply would refuse the plan or
leave it unfinished (a device in conflict or in "! mismatch", an outfile
folder it refuses).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.AWS.load(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return planRun(cmd.Context(), opts)
		},
	}
	addPlanFlags(cmd, &opts.Plan)
	addPlanRoleFlag(cmd, &opts.Plan.PlanRole)
	addAWSFlags(cmd, &opts.AWS)
	cmd.Flags().BoolVar(&opts.DetailedExitcode, "detailed-exitcode", false, "exit 0 with no changes, 2 with changes, 1 on error or a plan apply would refuse or leave unfinished")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "text", "output `format`: text, json or markdown")
	cmd.Flags().StringVar(&opts.Out, "out", "", "save the plan to `file` for a later apply")
	return cmd
}

func planRun(ctx context.Context, opts *planOpts) (err error) {
	v, err := view.NewPlan(opts.Output, viewStreams(opts.IO))
	if err != nil {
		return withHint(err, "use --output text, json or markdown")
	}
	// A saved plan names its manifests as given, cleaned (cleanPaths):
	// apply must be given the same, from a folder of the same layout.
	files := cleanPaths(opts.Plan.Files)
	ms, err := loadManifests(opts.IO, files, opts.Plan, opts.Plan.planOptions())
	if err != nil {
		return err
	}
	if opts.Plan.readRoles, err = planReadRoles(ms, opts.Plan); err != nil {
		return err
	}
	if len(opts.Plan.readRoles) > 0 {
		fmt.Fprintf(opts.IO.Err, "Reading through --plan-role %s; apply assumes --role %s\n", view.Text(opts.Plan.PlanRole), view.Text(opts.Plan.Role))
	}
	st, err := openStores(ctx, opts.IO, opts.AWS, opts.Plan.Store, ms)
	if err != nil {
		return err
	}
	defer closeStores(st, &err)
	if len(ms) > 1 {
		return planAccountsRun(ctx, opts, v, ms, st)
	}
	pl, _, err := computePlan(ctx, opts.IO, opts.AWS, ms[0], opts.Plan.planOptions(), opts.Plan, st)
	if err != nil {
		return err
	}
	pl.Plan.Notices = append(pl.Plan.Notices, localNotices(ctx, st, pl.Plan)...)
	sf := saved(pl, files, opts.Plan.Role)
	if opts.Out != "" {
		if err := planfile.Write(opts.Out, sf); err != nil {
			return fmt.Errorf("saving the plan to %s: %w", opts.Out, err)
		}
	}
	if opts.Plan.Quiet && !pl.Plan.HasChanges() && len(pl.Plan.Notices) == 0 {
		return nil
	}
	if err := v.Plan(pl.Plan); err != nil {
		return err
	}
	if opts.Out != "" {
		fmt.Fprintf(opts.IO.Err, "Saved the plan to %s; apply it with: %s\n", view.Text(opts.Out), applyCommand(opts.Out, sf))
	}
	if opts.DetailedExitcode {
		return detailedExit(opts.IO, pl.Plan)
	}
	return nil
}

// detailedExit is --detailed-exitcode's status: 1 for a plan apply would
// refuse or leave unfinished (an error to fix, not a change to review;
// stderr says why in a line), 2 for changes, 0 for none.
func detailedExit(streams IO, p plan.Plan) error {
	switch why := unfinished(p); {
	case why != "":
		fmt.Fprintf(streams.Err, "mfabulk: plan: exit 1: %s\n", why)
		return exitCodeError{exitError}
	case p.HasChanges():
		return exitCodeError{exitChanges}
	}
	return nil
}

// saved is the saved-plan file of a computed plan of the manifests files
// (cleanPaths of -f).
func saved(pl pipeline.Planned, files []string, roleTemplate string) planfile.File {
	return planfile.File{Fingerprint: pl.Fingerprint, Components: pl.Components, Manifests: files, Options: pl.Options,
		Plan: view.JSONPlan(pl.Plan, version), RoleTemplate: roleTemplate}
}

// workDir is the folder outfiles count relative to in a saved plan's
// fingerprint; "" (absolute) when it cannot be told.
func workDir() string {
	wd, _ := os.Getwd()
	return wd
}

// computePlan runs the read-only pipeline for one account's manifest on
// the command's streams, with progress of the refresh on a terminal. It
// returns the IAM client for apply: the base credentials', or one of the
// manifest's role.
func computePlan(ctx context.Context, streams IO, aws awsOptions, m *manifest.Manifest, po plan.Options, pf planFlags, st *stores.Set) (pipeline.Planned, *iamclient.Client, error) {
	pace := pf.paceFlags
	base, err := iamclient.New(ctx, pace.paced(aws.client(streams.Err)))
	if err != nil {
		return pipeline.Planned{}, nil, err
	}
	client, err := connect(ctx, base, pf.readRole(m))
	if err != nil {
		return pipeline.Planned{}, nil, err
	}
	if len(po.Targets)+len(po.Replace) > 0 {
		// --target ACCOUNT/NAME of this account is NAME here.
		po, _ = pipeline.ForAccount(m.Account, po, func(string) bool { return true })
	}
	var watched atomic.Pointer[iamclient.Client]
	watched.Store(client)
	rp := view.NewRefreshProgress(streams.Err, streams.OutTTY)
	rp.Watch(pacing(&watched), aws.debugOut(streams))
	pl, err := pipeline.PlanManifest(ctx, pipeline.Options{
		Plan: po, Parallelism: pace.Parallelism, ToolVersion: version,
		RoleTemplate: pf.Role, WorkDir: workDir(),
		TagsUnsupported: iamclient.TagsUnsupported,
		Progress:        rp.Update,
		Store:           st,
	}, m, client)
	rp.Done()
	if err != nil {
		return pipeline.Planned{}, nil, err
	}
	return pl, client, nil
}

// manifestError prints a manifest's problems, one per line, and ends the
// command with exit 1; other errors pass through.
func manifestError(err error, streams IO) error {
	var diags manifest.Diagnostics
	switch {
	case err == nil:
		return nil
	case errors.As(err, &diags):
		for _, d := range diags {
			fmt.Fprintln(streams.Err, view.Message(d.String()))
		}
		fmt.Fprintf(streams.Err, "mfabulk: error: %d problem(s) in the manifest; nothing was changed\n", len(diags))
		return exitCodeError{exitError}
	case errors.Is(err, pipeline.ErrNoManifest):
		return withHint(err, "pass -f MANIFEST")
	}
	return err
}
