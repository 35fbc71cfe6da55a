package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"filippo.io/age"
	"github.com/spf13/cobra"

	"github.com/mfabulk/mfabulk/internal/apply"
	"github.com/mfabulk/mfabulk/internal/apply/report"
	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/plan/planfile"
	"github.com/mfabulk/mfabulk/internal/seal"
	"github.com/mfabulk/mfabulk/internal/view"
)

// applyOpts are apply's options, filled from its flags (and through them
// from MFABULK_* and the config file).
type applyOpts struct {
	IO          IO
	AWS         awsOptions
	Plan        planFlags
	AutoApprove bool
	Report      string
	Output      string
	// SavedPlan is the file of a plan saved with plan --out, if given.
	SavedPlan string
	// Identities are the -i files: keys that decrypt the outfiles the
	// plan re-seals. Without any, re-seals are left pending.
	Identities []string
	// namedFiles is set when -f came from the command line or
	// MFABULK_FILE, not from a config file.
	namedFiles bool
	// fromConfig are the settings among role, prune, target and replace
	// that a config file set: they do not name a saved plan's.
	fromConfig []string
}

func newApplyCmd(streams IO, runF func(context.Context, *applyOpts) error) *cobra.Command {
	opts := &applyOpts{IO: streams}
	cmd := &cobra.Command{
		Use:   "apply [-f MANIFEST | SAVED-PLAN -f MANIFEST]",
		Short: "Carry out the plan: create, replace, retag and prune devices",
		Long: `apply computes the plan, shows it, asks for "yes" (unless --auto-approve),
then carries it out concurrently. Each new device's secret is encrypted with
age to the device's recipients and written to its outfile, which is never
overwritten; a device whose outfile cannot be written is deleted again.

Given a plan saved with "plan --out FILE" and the manifests, role and
options it was made from ("apply FILE -f MANIFEST… [--role R] [--prune]
[--allow-deactivate] [--target N] [--replace N]", as plan was given them, relative to the
working folder; show-plan prints the command), apply recomputes it from
them and applies it without asking; it refuses, before any AWS call, a
saved plan made from other manifests, role or options, and, as stale, one
whose plan is not the plan computed now, saying what changed. Without -f, on a terminal, it shows the
manifests the saved plan names and asks; otherwise it refuses. Exit status
is 1 if any change failed or a device was left alone ("! mismatch").

An outfile whose recipients are not the manifest's any more ("~ reseal":
an escrow key rotated, a person's SSH key changed) is re-encrypted to them
when apply is given, with -i (repeatable), an identity that can decrypt it
now; a passphrase-protected one is asked for on the terminal, as show does.
The secret is decrypted in memory only, and the outfile and its record are
replaced under the device's intent. Without -i, re-seals are left pending
and apply says so (exit status 0). Re-sealing does not revoke: a removed
recipient may have kept a copy, and older versions (a versioned bucket's,
NAME.replaced-* files) stay; to revoke, replace the device.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.AWS.load(cmd); err != nil {
				return err
			}
			if err := refusePlanRole(cmd); err != nil {
				return err
			}
			if len(args) == 1 {
				opts.SavedPlan = args[0]
				// Which manifests a saved plan is for, the operator says:
				// a config file can arrive with the checkout.
				opts.namedFiles = named(cmd, "file")
				for _, name := range []string{"role", "prune", "target", "replace"} {
					if f := cmd.Flags().Lookup(name); !named(cmd, name) && f.Value.String() != f.DefValue {
						opts.fromConfig = append(opts.fromConfig, name)
					}
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return applyRun(cmd.Context(), opts)
		},
	}
	addPlanFlags(cmd, &opts.Plan)
	addRefusedPlanRoleFlag(cmd)
	addAWSFlags(cmd, &opts.AWS)
	cmd.Flags().BoolVar(&opts.AutoApprove, "auto-approve", false, "apply without asking for confirmation")
	cmd.Flags().StringVar(&opts.Report, "report", "", "write a JSON audit record of the apply to `file`")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "text", "summary `format`: text, or json (the audit record)")
	cmd.Flags().StringArrayVarP(&opts.Identities, "identity", "i", nil, "age identity `file` or SSH private key that decrypts the outfiles to re-seal; repeatable (a passphrase is asked on the terminal); taken only from the command line, never from MFABULK_IDENTITY or identity: in a config file")
	_ = cmd.Flags().SetAnnotation("identity", commandLineOnly, []string{"true"})
	return cmd
}

func applyRun(ctx context.Context, opts *applyOpts) (err error) {
	v, err := view.NewApply(opts.Output, viewStreams(opts.IO))
	if err != nil {
		return withHint(err, "use --output text or json")
	}
	files, po, savedPlan, err := applyInputs(opts)
	if err != nil {
		return err
	}
	ms, err := loadManifests(opts.IO, files, opts.Plan, po)
	if err != nil {
		return err
	}
	st, err := openStores(ctx, opts.IO, opts.AWS, opts.Plan.Store, ms)
	if err != nil {
		return err
	}
	defer closeStores(st, &err)
	// Read before any plan or change: a wrong path fails at once.
	ids, err := readIdentities(opts.Identities)
	if err != nil {
		return err
	}
	if len(ms) > 1 {
		return applyAccountsRun(ctx, opts, v, ms, po, savedPlan, st, ids)
	}
	pl, client, err := computePlan(ctx, opts.IO, opts.AWS, ms[0], po, opts.Plan, st)
	if err != nil {
		return err
	}
	if savedPlan != nil {
		if err := checkSaved(ctx, st, *savedPlan, pl); err != nil {
			return err
		}
	}
	p := pl.Plan
	if opts.Report != "" {
		// Before any change: a report that cannot be written must not be
		// found out only after every device was made.
		if err := report.Check(opts.Report); err != nil {
			return withHint(fmt.Errorf("--report %s: %w", opts.Report, err), "nothing was changed; choose a report path in an existing folder that is new or holds an earlier report")
		}
	}
	if !opts.Plan.Quiet || p.HasChanges() || len(p.Notices) > 0 {
		v.Plan(p)
	}
	if !p.HasChanges() {
		return writeReport(opts, v, p, apply.Result{}, time.Now())
	}
	if err := p.Applyable(); err != nil {
		if n := p.NeedsAllowDeactivate(); n == p.Count(plan.Conflict) {
			return withHint(err, "a device its user has is replaced only with --allow-deactivate, which deactivates it first: the user cannot sign in with MFA until the new device is enabled")
		}
		return withHint(err, "rename the device in the manifest, or delete the existing device, then run apply again")
	}
	resealsLeft := 0
	if len(ids) == 0 {
		resealsLeft = p.Count(plan.Reseal)
	}
	if resealsLeft > 0 && p.Pending() == resealsLeft && view.InProgress(p) == 0 {
		// Nothing else to do: no prompt, and no failure. The nightly
		// run has no identity, and a pending re-seal is not its error.
		fmt.Fprintln(opts.IO.Err, view.ResealsPending(resealsLeft))
		if err := writeReport(opts, v, p, apply.Result{}, time.Now()); err != nil {
			return err
		}
		return mismatchError(p)
	}
	if err := approve(ctx, opts, savedPlan); err != nil {
		return err
	}
	started := time.Now()
	progress := v.Progress(p.Pending() - resealsLeft)
	var paced atomic.Pointer[iamclient.Client]
	paced.Store(client)
	progress.Watch(pacing(&paced), opts.AWS.debugOut(opts.IO))
	// The first Ctrl-C from here on lets the devices in flight finish;
	// the second abandons them (see interrupts).
	stop, endSoft := opts.IO.Interrupts.softPhase(func() { progress.Interrupted(opts.IO.Err) })
	res, err := apply.Run(ctx, client, p, apply.Options{
		Parallelism: opts.Plan.Parallelism,
		OnEvent:     progress.Event,
		Stop:        stop,
		Store:       st,
		Identities:  ids,
	})
	endSoft()
	progress.Done()
	if err != nil {
		return err
	}
	v.Summary(res)
	if err := writeReport(opts, v, p, res, started); err != nil {
		return err
	}
	if resealsLeft > 0 {
		fmt.Fprintln(opts.IO.Err, view.ResealsPending(resealsLeft))
	}
	if res.Interrupted {
		return exitCodeError{exitInterrupted}
	}
	if len(res.Failed()) > 0 {
		return exitCodeError{exitError}
	}
	return mismatchError(p)
}

// mismatchError is apply's error when it left devices alone that need a
// person ("! mismatch"); nil when there are none.
func mismatchError(p plan.Plan) error {
	if n := p.Count(plan.Mismatch); n > 0 {
		return withHint(fmt.Errorf("%d device(s) left alone: their secret is not provably in this folder (see \"! mismatch\" above)", n),
			"check each one, then run apply --replace NAME to issue a new secret here, or remove it from the manifest")
	}
	return nil
}

// readIdentities reads apply's -i files as show reads its one: a
// passphrase-protected identity is asked for on the terminal, when an
// outfile sealed to it is first decrypted.
func readIdentities(paths []string) ([]age.Identity, error) {
	var ids []age.Identity
	for _, path := range paths {
		got, err := seal.ReadIdentities(path, seal.TerminalPassphrase)
		if err != nil {
			return nil, fmt.Errorf("reading identity: %w", err)
		}
		ids = append(ids, got...)
	}
	return ids, nil
}

// applyInputs picks the manifests and options: from the flags, or, for a
// saved plan, from the flags checked against the file (checkSavedInputs).
func applyInputs(opts *applyOpts) ([]string, plan.Options, *planfile.File, error) {
	if opts.SavedPlan == "" {
		return opts.Plan.Files, opts.Plan.planOptions(), nil, nil
	}
	f, err := planfile.Read(opts.SavedPlan)
	if errors.Is(err, planfile.ErrOldFormat) {
		return nil, plan.Options{}, nil, withHint(err, "nothing was changed; run plan --out again with this mfabulk, review it, then apply the new file")
	}
	if err != nil {
		return nil, plan.Options{}, nil, err
	}
	if err := checkSavedInputs(opts, f); err != nil {
		return nil, plan.Options{}, nil, err
	}
	opts.Plan.Role = f.RoleTemplate
	if !opts.namedFiles {
		opts.Plan.Files = nil
		return f.Manifests, f.Options, &f, nil // shown at the prompt (approve)
	}
	// The operator's own paths, cleaned, not the file's: they were
	// compared cleaned, and a path such as sub/../m.yaml, equal once
	// cleaned, reads another file when sub is a link.
	return cleanPaths(opts.Plan.Files), f.Options, &f, nil
}

func writeReport(opts *applyOpts, v view.Apply, p plan.Plan, res apply.Result, started time.Time) error {
	wd, _ := os.Getwd() // without it, paths stay absolute: still correct
	doc := report.Build(p, res, version, started, time.Now(), wd)
	if opts.Report != "" {
		if err := report.Write(opts.Report, doc); err != nil {
			return fmt.Errorf("writing the report to %s: %w", opts.Report, err)
		}
	}
	return v.Report(doc)
}

// confirm asks for "yes" on a terminal; without one, only --auto-approve
// lets apply go ahead, so a scheduler never hangs on a prompt. Ctrl-C at
// the prompt cancels ctx, which ends the wait at once: the read itself
// cannot be interrupted, and is left to end with the process.
func confirm(ctx context.Context, streams IO, autoApprove bool) error {
	if autoApprove {
		fmt.Fprintln(streams.Err, "Auto-approved (--auto-approve): applying without asking.")
		return nil
	}
	if !streams.InTTY {
		return withHint(errors.New("apply needs confirmation, but standard input is not a terminal"),
			"review the plan, then pass --auto-approve to apply without asking")
	}
	fmt.Fprint(streams.Out, "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ")
	yes, err := answeredYes(ctx, bufio.NewReader(streams.In), streams.Out)
	switch {
	case err != nil:
		return withHint(err, "nothing was changed")
	case !yes:
		return withHint(errors.New("apply cancelled"), "nothing was changed")
	}
	fmt.Fprintln(streams.Out)
	return nil
}

// answeredYes waits for one line from in and says whether it is "yes",
// for apply's and enroll's prompts. Ctrl-C (ctx cancelled) ends the wait
// at once with errInterrupted, after a newline on w: the read itself
// cannot be interrupted and is left to end with the process. A read error
// leaves the line empty, which is not "yes".
func answeredYes(ctx context.Context, in *bufio.Reader, w io.Writer) (bool, error) {
	answer := make(chan string, 1)
	go func() {
		line, _ := in.ReadString('\n')
		answer <- line
	}()
	select {
	case line := <-answer:
		if ctx.Err() != nil {
			return false, errInterrupted
		}
		return strings.TrimSpace(line) == "yes", nil
	case <-ctx.Done():
		fmt.Fprintln(w)
		return false, errInterrupted
	}
}
