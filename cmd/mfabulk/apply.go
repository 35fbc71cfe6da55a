package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mfabulk/mfabulk/apply"
	"github.com/mfabulk/mfabulk/plan"
	"github.com/mfabulk/mfabulk/view"
)

func newApplyCmd(streams IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apply -f MANIFEST",
		Short: "Create the missing devices and seal their secrets into outfiles",
		Long: `apply computes the plan, shows it, asks for "yes" (unless --auto-approve),
then creates the missing devices concurrently. Each device's secret is
encrypted with age to the device's recipients and written to its outfile,
which is never overwritten. A device whose outfile cannot be written is
deleted again. Exit status is 1 if any device failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := loadSettings(cmd)
			if err != nil {
				return err
			}
			p, client, err := computePlan(cmd.Context(), s, streams)
			if err != nil {
				return err
			}
			view.PlanText(streams.Out, p)
			if !p.HasChanges() {
				return nil
			}
			if n := p.Count(plan.Conflict); n > 0 {
				return withHint(fmt.Errorf("refusing to apply: %d device(s) in conflict", n),
					"rename the device in the manifest, or delete the existing device, then run apply again")
			}
			if err := confirm(streams, s.boolean("auto-approve")); err != nil {
				return err
			}
			res, err := apply.Run(cmd.Context(), client, p, apply.Options{
				Parallelism: s.integer("parallelism"),
				OnEvent:     func(e apply.Event) { view.Event(streams.Out, e) },
			})
			if err != nil {
				return err
			}
			view.ApplySummary(streams.Out, res)
			if len(res.Failed()) > 0 {
				return exitCodeError{exitError}
			}
			return nil
		},
	}
	addManifestFlag(cmd)
	addAWSFlags(cmd)
	cmd.Flags().Bool("auto-approve", false, "apply without asking for confirmation")
	cmd.Flags().Int("parallelism", 8, "devices to create at once")
	return cmd
}

// confirm asks for "yes" on a terminal; without one, only --auto-approve
// lets apply go ahead, so a scheduler never hangs on a prompt.
func confirm(streams IO, autoApprove bool) error {
	if autoApprove {
		return nil
	}
	if !streams.InTTY {
		return withHint(errors.New("apply needs confirmation, but standard input is not a terminal"),
			"review the plan, then pass --auto-approve to apply without asking")
	}
	fmt.Fprint(streams.Out, "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ")
	line, _ := bufio.NewReader(streams.In).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return withHint(errors.New("apply cancelled"), "nothing was changed")
	}
	fmt.Fprintln(streams.Out)
	return nil
}
