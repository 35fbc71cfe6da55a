package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/view"
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
	if err := refuseSavedPlans(opts.Files); err != nil {
		return err
	}
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
	ms, err := manifest.LoadAccounts(manifest.LoadOptions{}, opts.Files...)
	var diags manifest.Diagnostics
	if err != nil && !errors.As(err, &diags) {
		return fmt.Errorf("reading manifest: %w", err)
	}
	if err != nil {
		return manifestError(err, opts.IO)
	}
	var files, devices int
	for _, m := range ms {
		files, devices = files+len(m.Files), devices+len(m.Devices)
	}
	switch {
	case len(ms) > 1:
		fmt.Fprintf(opts.IO.Out, "%d manifests for %d accounts, %d device(s), valid.\n", files, len(ms), devices)
	case files == 1:
		fmt.Fprintf(opts.IO.Out, "%s: %d device(s), valid.\n", view.Text(ms[0].Files[0]), devices)
	default:
		fmt.Fprintf(opts.IO.Out, "%d manifests, %d device(s), valid.\n", files, devices)
	}
	return nil
}

func validateJSON(opts *validateOpts) error {
	_, err := manifest.LoadAccounts(manifest.LoadOptions{}, opts.Files...)
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
