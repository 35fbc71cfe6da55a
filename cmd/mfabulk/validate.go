package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mfabulk/mfabulk/internal/manifest"
)

// validateOpts are validate's options.
type validateOpts struct {
	IO     IO
	Files  []string
	Output string
}

func newValidateCmd(streams IO, runF func(context.Context, *validateOpts) error) *cobra.Command {
	opts := &validateOpts{IO: streams}
	cmd := &cobra.Command{
		Use:   "validate -f MANIFEST",
		Short: "Check manifests without calling AWS",
		Long: `validate checks manifests against the schema and IAM's own constraints and
reports every problem as file:line:col. It makes no network call. With
--output json it prints the problems as a JSON list of objects with the
fields file, line, column, message and rule ([] when valid).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := loadSettings(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return validateRun(opts)
		},
	}
	addManifestFlag(cmd, &opts.Files)
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "text", "output `format`: text or json")
	return cmd
}

func validateRun(opts *validateOpts) error {
	switch opts.Output {
	case "json":
		return validateJSON(opts)
	case "text", "":
	default:
		return withHint(fmt.Errorf("unknown output format %q", opts.Output), "use --output text or json")
	}
	if len(opts.Files) == 0 {
		return withHint(errors.New("no manifest given"), "pass -f MANIFEST")
	}
	m, err := manifest.Load(opts.Files...)
	var diags manifest.Diagnostics
	if err != nil && !errors.As(err, &diags) {
		return fmt.Errorf("reading manifest: %w", err)
	}
	if err != nil {
		return manifestError(err, opts.IO)
	}
	if len(m.Files) == 1 {
		fmt.Fprintf(opts.IO.Out, "%s: %d device(s), valid.\n", m.Files[0], len(m.Devices))
	} else {
		fmt.Fprintf(opts.IO.Out, "%d manifests, %d device(s), valid.\n", len(m.Files), len(m.Devices))
	}
	return nil
}

func validateJSON(opts *validateOpts) error {
	_, err := manifest.Load(opts.Files...)
	diags := manifest.Diagnostics{}
	if err != nil && !errors.As(err, &diags) {
		return fmt.Errorf("reading manifest: %w", err)
	}
	enc := json.NewEncoder(opts.IO.Out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(diags); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	if len(diags) > 0 {
		return exitCodeError{exitError}
	}
	return nil
}
