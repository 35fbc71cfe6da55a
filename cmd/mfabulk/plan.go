package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/mfabulk/mfabulk/iamclient"
	"github.com/mfabulk/mfabulk/journal"
	"github.com/mfabulk/mfabulk/manifest"
	"github.com/mfabulk/mfabulk/plan"
	"github.com/mfabulk/mfabulk/view"
)

func newPlanCmd(streams IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plan -f MANIFEST",
		Short: "Show how the account differs from the manifest",
		Long: `plan reads the account's virtual MFA devices and shows what apply would do.
It only reads. With --detailed-exitcode it exits 0 when the account matches
the manifest, 2 when there are changes, and 1 on error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := loadSettings(cmd)
			if err != nil {
				return err
			}
			p, _, err := computePlan(cmd.Context(), s, streams)
			if err != nil {
				return err
			}
			view.PlanText(streams.Out, p)
			if s.boolean("detailed-exitcode") && p.HasChanges() {
				return exitCodeError{exitChanges}
			}
			return nil
		},
	}
	addManifestFlag(cmd)
	addAWSFlags(cmd)
	cmd.Flags().Bool("detailed-exitcode", false, "exit 0 with no changes, 2 with changes, 1 on error")
	return cmd
}

// computePlan validates the manifest, then reads the account and diffs.
func computePlan(ctx context.Context, s settings, streams IO) (plan.Plan, *iamclient.Client, error) {
	m, err := loadManifest(s, streams)
	if err != nil {
		return plan.Plan{}, nil, err
	}
	client, err := iamclient.New(ctx, s.awsOptions(streams))
	if err != nil {
		return plan.Plan{}, nil, err
	}
	account, partition, err := client.Account(ctx)
	if err != nil {
		return plan.Plan{}, nil, err
	}
	observed, err := client.ListDevices(ctx)
	if err != nil {
		return plan.Plan{}, nil, err
	}
	lost, err := seedLost(m.Devices)
	if err != nil {
		return plan.Plan{}, nil, err
	}
	obs := plan.Observed{Account: account, Partition: partition, Devices: observed, SeedLost: lost}
	return plan.Compute(m.Devices, obs), client, nil
}

// seedLost reads the journal: the devices an earlier run meant to create
// and whose outfile does not exist.
func seedLost(devices []manifest.Device) (map[string]bool, error) {
	lost := map[string]bool{}
	for _, d := range devices {
		in, err := journal.Pending(d.Outfile)
		if err != nil {
			return nil, err
		}
		if in != nil {
			lost[d.Name] = true
		}
	}
	return lost, nil
}
