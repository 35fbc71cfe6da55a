package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/store/migrate"
	"github.com/mfabulk/mfabulk/internal/store/s3store"
	"github.com/mfabulk/mfabulk/internal/view"
)

// newStoreCmd is the group of commands on the S3 store itself.
func newStoreCmd(streams IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Work on the S3 store the manifests name (store import)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withHint(errors.New("store needs a command"), "mfabulk store import -f MANIFEST")
		},
	}
	cmd.AddCommand(newStoreImportCmd(streams, nil))
	return cmd
}

// storeImportOpts are store import's options.
type storeImportOpts struct {
	IO    IO
	AWS   awsOptions
	Files []string
	Store storeFlags
}

func newStoreImportCmd(streams IO, runF func(context.Context, *storeImportOpts) error) *cobra.Command {
	opts := &storeImportOpts{IO: streams}
	cmd := &cobra.Command{
		Use:   "import -f MANIFEST",
		Short: "Copy a folder's outfiles and records into the store the manifests name",
		Long: `store import moves a folder's devices into the S3 store their manifests now
name (store:), without re-issuing any. For each device of a manifest that
names a store, it reads the outfile where the folder keeps it (the
manifest's folder, then the key the outfile template renders) and its
record, as plan reads them (never through a link; a regular file of
yours), and copies both into the store, never over an existing object
(If-None-Match: *); then it reads the outfile back and checks its SHA-256.

It prints one line per device: copied, already there (the same bytes: a
re-run copies nothing), no outfile here, or why it failed; an object
with other bytes already at a key is reported, never overwritten. The
store is checked first, as plan checks it (the bucket, its versioning,
access to the prefix). Outfiles moved aside (NAME.replaced-STAMP) are
not imported, nor devices with an intent left by an interrupted run
(settle them first with plan and apply on the folder). It exits 1 when
any device failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.AWS.load(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return storeImportRun(cmd.Context(), opts)
		},
	}
	addManifestFlag(cmd, &opts.Files)
	addStoreFlags(cmd, &opts.Store)
	addAWSFlags(cmd, &opts.AWS)
	return cmd
}

func storeImportRun(ctx context.Context, opts *storeImportOpts) error {
	ms, err := loadManifests(opts.IO, opts.Files, planFlags{}, planFlags{}.planOptions())
	if err != nil {
		return err
	}
	var devices []manifest.Device
	for _, m := range ms {
		devices = append(devices, m.Devices...)
	}
	lease, err := storeLease()
	if err != nil {
		return err
	}
	clients := &s3Clients{aws: opts.AWS, debug: func() iamclient.Options { return opts.AWS.client(opts.IO.Err) }}
	rep, err := migrate.Run(ctx, devices, migrate.Options{Open: func(ctx context.Context, s manifest.Store) (migrate.Target, error) {
		client, err := clients.get(ctx)
		if err != nil {
			return nil, err
		}
		return s3store.New(ctx, s3store.Options{Client: client, Store: s, AllowUnversioned: opts.Store.AllowUnversioned, Lease: lease})
	}})
	for _, w := range rep.Warnings {
		fmt.Fprintf(opts.IO.Err, "mfabulk: warning: %s\n", view.Text(w.Err.Error()))
	}
	if errors.Is(err, migrate.ErrNoStore) {
		return withHint(err, "add store: s3://BUCKET/PREFIX/ to the manifests whose devices move into it")
	}
	if err != nil {
		return err
	}
	return importReport(opts.IO, rep)
}

// importReport prints one line per device and a summary; an error when
// any device failed.
func importReport(streams IO, rep migrate.Report) error {
	var n [4]int
	for _, r := range rep.Results {
		n[r.Outcome]++
		name, to := view.Text(r.Device), view.Text(r.To)
		switch r.Outcome {
		case migrate.Copied:
			without := ""
			if r.NoRecord {
				without = " (no record beside it: plan will say so)"
			}
			fmt.Fprintf(streams.Out, "%s: copied %s to %s%s\n", name, view.Text(r.From), to, without)
		case migrate.AlreadyThere:
			fmt.Fprintf(streams.Out, "%s: already there: %s\n", name, to)
		case migrate.NoOutfile:
			fmt.Fprintf(streams.Out, "%s: no outfile here (%s)\n", name, view.Text(r.From))
		default:
			fmt.Fprintf(streams.Out, "%s: failed: %s\n", name, view.Text(r.Err.Error()))
		}
	}
	fmt.Fprintf(streams.Out, "Import: %d copied, %d already there, %d without an outfile here, %d failed.\n",
		n[migrate.Copied], n[migrate.AlreadyThere], n[migrate.NoOutfile], n[migrate.Failed])
	if n[migrate.Failed] > 0 {
		return exitCodeError{exitError}
	}
	return nil
}
