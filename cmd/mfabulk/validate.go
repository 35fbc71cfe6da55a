package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mfabulk/mfabulk/manifest"
)

func newValidateCmd(streams IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "validate -f MANIFEST",
		Short: "Check a manifest without calling AWS",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := loadSettings(cmd)
			if err != nil {
				return err
			}
			m, err := loadManifest(s, streams)
			if err != nil {
				return err
			}
			fmt.Fprintf(streams.Out, "%s: %d device(s), valid.\n", m.File, len(m.Devices))
			return nil
		},
	}
	addManifestFlag(cmd)
	return cmd
}

// loadManifest loads and validates the manifest named by the settings,
// printing every problem, so plan and apply stop before any AWS call.
func loadManifest(s settings, streams IO) (*manifest.Manifest, error) {
	file := s.str("file")
	if file == "" {
		return nil, withHint(errors.New("no manifest given"), "pass -f MANIFEST")
	}
	m, err := manifest.Load(file)
	var diags manifest.Diagnostics
	if errors.As(err, &diags) {
		for _, d := range diags {
			fmt.Fprintln(streams.Err, d)
		}
		fmt.Fprintf(streams.Err, "mfabulk: error: %s has %d problem(s); nothing was changed\n", file, len(diags))
		return nil, exitCodeError{exitError}
	}
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	return m, nil
}
