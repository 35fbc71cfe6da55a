package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/mfabulk/mfabulk/internal/enroll"
	"github.com/mfabulk/mfabulk/internal/qrterm"
	"github.com/mfabulk/mfabulk/internal/seal"
	"github.com/mfabulk/mfabulk/internal/view"
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// maxOutfileSize bounds an outfile: a sealed QR code is a few KB.
const maxOutfileSize = 1 << 20

// showOpts are show's options.
type showOpts struct {
	IO       IO
	AWS      awsOptions
	Identity string
	Invert   bool
	Force    bool
	Seed     bool
	Outfile  string
}

func newShowCmd(streams IO, runF func(context.Context, *showOpts) error) *cobra.Command {
	opts := &showOpts{IO: streams}
	cmd := &cobra.Command{
		Use:   "show -i IDENTITY OUTFILE|s3://BUCKET/KEY",
		Short: "Decrypt an outfile in memory and show its QR code or seed",
		Long: `show is for the person who receives an outfile. It decrypts it in memory with
the age identity (or SSH private key) given with -i and shows the QR code in
the terminal, ready to scan with an authenticator app, or the Base32 seed
in groups of four, with the account and device it belongs to. --seed
prints the seed of a QR code outfile too, for those who type it in.
A passphrase-protected identity (an SSH key from ssh-keygen -N, an age
identity file encrypted with age -p) is asked for on the terminal. Nothing
is written to disk. It refuses to print a secret to anything but a
terminal unless --force is given.

An outfile in an S3 store is named by its URL, s3://BUCKET/PREFIX/KEY: the
object and its record are read in memory with your own AWS credentials
(--profile, --region; the endpoint from --s3-endpoint-url or the SDK's
AWS_ENDPOINT_URL_S3), which need s3:GetObject on both (the README's
policy for a person).`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return errors.New("show needs the outfile to open: mfabulk show -i IDENTITY OUTFILE")
			case len(args) > 1:
				return fmt.Errorf("show opens one outfile at a time, not %d: mfabulk show -i IDENTITY OUTFILE", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.AWS.load(cmd); err != nil {
				return err
			}
			opts.Outfile = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return showRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Identity, "identity", "i", "", "age identity `file` or SSH private key")
	cmd.Flags().BoolVar(&opts.Invert, "invert", false, "draw dark modules as ink, for light-background terminals")
	cmd.Flags().BoolVar(&opts.Seed, "seed", false, "print the seed, also of a QR code outfile, instead of drawing the code")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "print the secret even when standard output is not a terminal")
	addAWSFlags(cmd, &opts.AWS)
	return cmd
}

func showRun(ctx context.Context, opts *showOpts) error {
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
	of, err := readPersonOutfile(ctx, opts.IO, opts.AWS, opts.Outfile)
	if err != nil {
		return err
	}
	secret, err := seal.Decrypt(of.ciphertext, ids)
	if err != nil {
		return fmt.Errorf("decrypting %s: %w", opts.Outfile, err)
	}
	defer clear(secret)
	if !bytes.HasPrefix(secret, pngMagic) || opts.Seed {
		sec, err := enroll.Open(secret, opts.Outfile)
		if err != nil {
			return fmt.Errorf("reading %s: %w", opts.Outfile, err)
		}
		defer sec.Wipe()
		account, device := sec.Account, sec.Name
		if sec.QR == nil { // a Base32 outfile names nothing: the record does
			account, device = "", ""
			if rec := of.beside().Record; rec != nil {
				account, device = rec.Account, rec.Device
			}
		}
		// The record beside the outfile, like the QR code's label, is
		// anyone's to write: its names are shown escaped.
		return writeSeed(out, sec.Seed, view.Text(account), view.Text(device))
	}
	grid, err := qrterm.Decode(secret)
	if err != nil {
		return fmt.Errorf("reading the QR code in %s: %w", opts.Outfile, err)
	}
	cols, rows := qrterm.Size(grid)
	rows += 2 // the title above, the shell's prompt below
	w, h, sized := terminalSize(out)
	if sized && (cols > w || rows > h) {
		return withHint(fmt.Errorf("the QR code needs %d×%d; this terminal is %d×%d", cols, rows, w, h),
			"enlarge it (or make the font smaller), or use --seed to print the seed")
	}
	// The hint is for a person at a terminal (not a file --force writes
	// to): a line under the code when the terminal has room for it,
	// else in the title, so that the code stays on the screen whole.
	below := opts.IO.OutTTY && (!sized || rows+1 <= h)
	title := "Scan this QR code with your authenticator app:"
	if opts.IO.OutTTY && !below {
		title = scanTitle(opts.Invert)
	}
	fmt.Fprintln(out, title)
	if err := qrterm.Write(out, grid, opts.Invert); err != nil {
		return err
	}
	if below {
		fmt.Fprintln(out, scanHint("show", opts.Invert))
	}
	return nil
}

// scanTitle is the title of a code drawn on a terminal with no room for
// scanHint's line under it: the same hint, shorter, at most 80 columns.
func scanTitle(invert bool) string {
	if invert {
		return "Scan this QR code with your authenticator app (dark terminal? no --invert):"
	}
	return "Scan this QR code with your authenticator app (light terminal? --invert):"
}

// scanHint is the line under a QR code drawn on a terminal, for a person
// whose app cannot read it: the code is drawn for a dark background
// (light modules as ink), which a light one turns into its negative, that
// many apps do not read; --invert draws it for a light one. At most 80
// columns, so that it never wraps on a standard terminal.
func scanHint(cmd string, invert bool) string {
	if invert {
		return "Cannot scan it? On a dark background, run " + cmd + " again without --invert."
	}
	return "Cannot scan it? On a light-background terminal, run " + cmd + " again with --invert."
}

// writeSeed prints a seed in groups of four, as authenticator apps ask
// for it, after the account and device it belongs to when they are known.
func writeSeed(w io.Writer, seed []byte, account, device string) error {
	line := make([]byte, 0, 128)
	switch {
	case account != "" && device != "":
		line = fmt.Appendf(line, "Account %s, device %s: ", account, device)
	case device != "":
		line = fmt.Appendf(line, "Device %s: ", device)
	default:
		fmt.Fprintln(w, "Base32 seed: type it into your authenticator app as a time-based key.")
		line = append(line, "  "...)
	}
	for i, c := range seed {
		if i > 0 && i%4 == 0 {
			line = append(line, ' ')
		}
		line = append(line, c)
	}
	line = append(line, '\n')
	defer clear(line)
	_, err := w.Write(line)
	return err
}

// terminalSize returns the size of the terminal w writes to, if it is one.
func terminalSize(w io.Writer) (cols, rows int, ok bool) {
	if lw, isLocked := w.(*lockedWriter); isLocked {
		w = lw.w
	}
	f, isFile := w.(*os.File)
	if !isFile {
		return 0, 0, false
	}
	cols, rows, err := term.GetSize(int(f.Fd()))
	return cols, rows, err == nil && cols > 0 && rows > 0
}
