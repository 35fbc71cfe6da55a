package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mfabulk/mfabulk/internal/inputfile"
	"github.com/mfabulk/mfabulk/internal/qrterm"
	"github.com/mfabulk/mfabulk/internal/seal"
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// maxOutfileSize bounds an outfile: a sealed QR code is a few KB.
const maxOutfileSize = 1 << 20

// showOpts are show's options.
type showOpts struct {
	IO       IO
	Identity string
	Invert   bool
	Force    bool
	Outfile  string
}

func newShowCmd(streams IO, runF func(context.Context, *showOpts) error) *cobra.Command {
	opts := &showOpts{IO: streams}
	cmd := &cobra.Command{
		Use:   "show -i IDENTITY OUTFILE",
		Short: "Decrypt an outfile in memory and show its QR code or seed",
		Long: `show is for the person who receives an outfile. It decrypts it in memory with
the age identity (or SSH private key) given with -i and shows the QR code in
the terminal, ready to scan with an authenticator app, or the Base32 seed.
A passphrase-protected identity (an SSH key from ssh-keygen -N, an age
identity file encrypted with age -p) is asked for on the terminal. Nothing
is written to disk. It refuses to print a secret to anything but a
terminal unless --force is given.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := loadSettings(cmd); err != nil {
				return err
			}
			opts.Outfile = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return showRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Identity, "identity", "i", "", "age identity `file` or SSH private key")
	cmd.Flags().BoolVar(&opts.Invert, "invert", false, "draw dark modules as ink, for light-background terminals")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "print the secret even when standard output is not a terminal")
	return cmd
}

func showRun(opts *showOpts) error {
	out := opts.IO.Out
	if opts.Identity == "" {
		return withHint(errors.New("no identity given"), "pass -i with the age identity file or SSH private key the outfile was sealed to")
	}
	if !opts.IO.OutTTY && !opts.Force {
		return withHint(errors.New("refusing to print a secret: standard output is not a terminal"),
			"run show in a terminal, or pass --force if you mean to send the secret there")
	}
	ids, err := seal.ReadIdentities(opts.Identity, seal.TerminalPassphrase)
	if err != nil {
		return fmt.Errorf("reading identity: %w", err)
	}
	ct, err := inputfile.Read(opts.Outfile, maxOutfileSize)
	if err != nil {
		return fmt.Errorf("reading outfile: %w", err)
	}
	secret, err := seal.Decrypt(ct, ids)
	if err != nil {
		return fmt.Errorf("decrypting %s: %w", opts.Outfile, err)
	}
	defer clear(secret)
	if !bytes.HasPrefix(secret, pngMagic) {
		fmt.Fprintf(out, "Base32 seed: type it into your authenticator app as a time-based key.\n\n  %s\n", secret)
		return nil
	}
	grid, err := qrterm.Decode(secret)
	if err != nil {
		return fmt.Errorf("reading the QR code in %s: %w", opts.Outfile, err)
	}
	fmt.Fprintln(out, "Scan this QR code with your authenticator app:")
	return qrterm.Write(out, grid, opts.Invert)
}
