package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mfabulk/mfabulk/internal/manifest"
)

func newValidateCmd(streams IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "validate -f MANIFEST",
		Short: "Check manifests without calling AWS",
		Long: `validate checks manifests against the schema and IAM's own constraints and
reports every problem as file:line:col. It makes no network call. With
--output json it prints the problems as a JSON list of objects with the
fields file, line, column, message and rule ([] when valid).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := loadSettings(cmd)
			if err != nil {
				return err
			}
			if s.str("output") == "json" {
				return validateJSON(s, streams)
			}
			m, err := loadManifest(s, streams)
			if err != nil {
				return err
			}
			if len(m.Files) == 1 {
				fmt.Fprintf(streams.Out, "%s: %d device(s), valid.\n", m.Files[0], len(m.Devices))
			} else {
				fmt.Fprintf(streams.Out, "%d manifests, %d device(s), valid.\n", len(m.Files), len(m.Devices))
			}
			return nil
		},
	}
	addManifestFlag(cmd)
	cmd.Flags().StringP("output", "o", "text", "output `format`: text or json")
	return cmd
}

func validateJSON(s settings, streams IO) error {
	_, err := manifest.Load(manifestFiles(s)...)
	diags := manifest.Diagnostics{}
	if err != nil && !errors.As(err, &diags) {
		return err
	}
	enc := json.NewEncoder(streams.Out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(diags); err != nil {
		return err
	}
	if len(diags) > 0 {
		return exitCodeError{exitError}
	}
	return nil
}

func manifestFiles(s settings) []string { return s.v.GetStringSlice("file") }

// loadManifest loads and validates the manifests named by the settings,
// printing every problem, so plan and apply stop before any AWS call.
func loadManifest(s settings, streams IO) (*manifest.Manifest, error) {
	return loadManifestFiles(manifestFiles(s), streams)
}

func loadManifestFiles(files []string, streams IO) (*manifest.Manifest, error) {
	if len(files) == 0 {
		return nil, withHint(errors.New("no manifest given"), "pass -f MANIFEST")
	}
	m, err := manifest.Load(files...)
	var diags manifest.Diagnostics
	if errors.As(err, &diags) {
		for _, d := range diags {
			fmt.Fprintln(streams.Err, d)
		}
		fmt.Fprintf(streams.Err, "mfabulk: error: %d problem(s) in the manifest; nothing was changed\n", len(diags))
		return nil, exitCodeError{exitError}
	}
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	return m, nil
}
