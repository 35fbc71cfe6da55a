package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mfabulk/mfabulk/internal/apply"
	"github.com/mfabulk/mfabulk/internal/apply/report"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/plan/planfile"
	"github.com/mfabulk/mfabulk/internal/view"
)

func newApplyCmd(streams IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apply [-f MANIFEST | SAVED-PLAN]",
		Short: "Carry out the plan: create, replace, retag and prune devices",
		Long: `apply computes the plan, shows it, asks for "yes" (unless --auto-approve),
then carries it out concurrently. Each new device's secret is encrypted with
age to the device's recipients and written to its outfile, which is never
overwritten; a device whose outfile cannot be written is deleted again.

Given a plan saved with "plan --out FILE", apply recomputes it from the same
manifests and options and applies it without asking, or refuses it as stale
if the manifest or the account changed since. Exit status is 1 if any
change failed.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := loadSettings(cmd)
			if err != nil {
				return err
			}
			files, so, saved, err := applyInputs(s, args)
			if err != nil {
				return err
			}
			pl, err := computePlan(cmd.Context(), s, streams, files, so)
			if err != nil {
				return err
			}
			if saved != nil {
				if err := saved.Check(pl.fp); err != nil {
					return withHint(err, "run plan --out again, review it, then apply the new file")
				}
			}
			return runApply(cmd, s, streams, pl, saved != nil)
		},
	}
	addManifestFlag(cmd)
	addAWSFlags(cmd)
	addPlanFlags(cmd)
	cmd.Flags().Bool("auto-approve", false, "apply without asking for confirmation")
	cmd.Flags().String("report", "", "write a JSON audit record of the apply to `file`")
	cmd.Flags().StringP("output", "o", "text", "summary `format`: text, or json (the audit record)")
	return cmd
}

// applyInputs picks the manifests and options: from a saved plan, or from
// the flags.
func applyInputs(s settings, args []string) ([]string, planfile.Options, *planfile.File, error) {
	if len(args) == 0 {
		return manifestFiles(s), planOptionsFrom(s), nil, nil
	}
	if len(manifestFiles(s)) > 0 || s.boolean("prune") || len(s.v.GetStringSlice("target")) > 0 || len(s.v.GetStringSlice("replace")) > 0 {
		return nil, planfile.Options{}, nil, withHint(errors.New("a saved plan carries its own manifests and options"),
			"drop -f, --prune, --target and --replace when applying a saved plan")
	}
	f, err := planfile.Read(args[0])
	if err != nil {
		return nil, planfile.Options{}, nil, err
	}
	return f.Manifests, f.Options, &f, nil
}

func runApply(cmd *cobra.Command, s settings, streams IO, pl planned, approved bool) error {
	p := pl.plan
	if path := s.str("report"); path != "" {
		// Before any change: a report that cannot be written must not be
		// found out only after every device was made.
		if err := report.Check(path); err != nil {
			return withHint(fmt.Errorf("--report %s: %w", path, err), "nothing was changed; choose a report path in an existing folder that is new or holds an earlier report")
		}
	}
	jsonOut := s.str("output") == "json"
	if !jsonOut {
		view.PlanText(streams.Out, p, styleFor(streams))
	}
	if !p.HasChanges() {
		return writeReport(s, streams, p, apply.Result{}, time.Now(), jsonOut)
	}
	if n := p.Count(plan.Conflict); n > 0 {
		return withHint(fmt.Errorf("refusing to apply: %d device(s) in conflict", n),
			"rename the device in the manifest, or delete the existing device, then run apply again")
	}
	if !approved {
		if err := confirm(cmd.Context(), streams, s.boolean("auto-approve")); err != nil {
			return err
		}
	}
	started := time.Now()
	progress := view.NewProgress(streams.Out, streams.OutTTY && !jsonOut, len(p.Changes)-p.Count(plan.Unchanged)-p.Count(plan.Refused)-p.Count(plan.Mismatch))
	if jsonOut {
		progress = view.NewProgress(streams.Err, false, 0)
	}
	// The first Ctrl-C from here on lets the devices in flight finish;
	// the second abandons them (see interrupts).
	stop, endSoft := streams.Interrupts.softPhase(func() { progress.Interrupted(streams.Err) })
	res, err := apply.Run(cmd.Context(), pl.client, p, apply.Options{
		Parallelism: s.integer("parallelism"),
		OnEvent:     progress.Event,
		Stop:        stop,
	})
	endSoft()
	if err != nil {
		return err
	}
	progress.Done()
	if !jsonOut {
		view.ApplySummary(streams.Out, res)
	}
	if err := writeReport(s, streams, p, res, started, jsonOut); err != nil {
		return err
	}
	if res.Interrupted {
		return exitCodeError{exitInterrupted}
	}
	if len(res.Failed()) > 0 {
		return exitCodeError{exitError}
	}
	if n := p.Count(plan.Mismatch); n > 0 {
		return withHint(fmt.Errorf("%d device(s) left alone: their secret is not provably in this folder (see \"! mismatch\" above)", n),
			"check each one, then run apply --replace NAME to issue a new secret here, or remove it from the manifest")
	}
	return nil
}

func writeReport(s settings, streams IO, p plan.Plan, res apply.Result, started time.Time, jsonOut bool) error {
	// Without a working folder, paths are shown as they are, as view.Rel does.
	wd, _ := os.Getwd()
	doc := report.Build(p, res, version, started, time.Now(), wd)
	if path := s.str("report"); path != "" {
		if err := report.Write(path, doc); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
	}
	if jsonOut {
		enc := json.NewEncoder(streams.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	return nil
}

// confirm asks for "yes" on a terminal; without one, only --auto-approve
// lets apply go ahead, so a scheduler never hangs on a prompt. Ctrl-C at
// the prompt cancels ctx, which ends the wait at once: the read itself
// cannot be interrupted, and is left to end with the process.
func confirm(ctx context.Context, streams IO, autoApprove bool) error {
	if autoApprove {
		return nil
	}
	if !streams.InTTY {
		return withHint(errors.New("apply needs confirmation, but standard input is not a terminal"),
			"review the plan, then pass --auto-approve to apply without asking")
	}
	fmt.Fprint(streams.Out, "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ")
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(streams.In).ReadString('\n')
		answer <- line
	}()
	var line string
	select {
	case line = <-answer:
	case <-ctx.Done():
		fmt.Fprintln(streams.Out)
		return withHint(errInterrupted, "nothing was changed")
	}
	if ctx.Err() != nil {
		return withHint(errInterrupted, "nothing was changed")
	}
	if strings.TrimSpace(line) != "yes" {
		return withHint(errors.New("apply cancelled"), "nothing was changed")
	}
	fmt.Fprintln(streams.Out)
	return nil
}
