package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/enroll"
	"github.com/mfabulk/mfabulk/internal/inputfile"
	"github.com/mfabulk/mfabulk/internal/qrterm"
	"github.com/mfabulk/mfabulk/internal/seal"
)

// enrollPermissions are what a person needs to enroll (README, "Enrolling").
const enrollPermissions = "iam:ListVirtualMFADevices, and iam:EnableMFADevice and iam:ListMFADevices on their own user (AWS's self-service MFA policy grants them)"

// enrollAttempts is how many pairs of codes a person on a terminal may
// type before enroll gives up; a pipe gets one.
const enrollAttempts = 3

// enrollOpts are enroll's options.
type enrollOpts struct {
	IO       IO
	AWS      awsOptions
	Identity string
	Outfile  string
	User     string
	Serial   string
	Invert   bool
	Force    bool
	NoShow   bool
	// Now is the clock codes are checked against; time.Now when nil.
	Now func() time.Time
}

func newEnrollCmd(streams IO, runF func(context.Context, *enrollOpts) error) *cobra.Command {
	opts := &enrollOpts{IO: streams}
	cmd := &cobra.Command{
		Use:   "enroll -i IDENTITY OUTFILE",
		Short: "Enable an outfile's virtual MFA device for your IAM user",
		Long: `enroll is for the person who receives an outfile, run with their own AWS
credentials. It decrypts the outfile in memory (as show does), finds its
device without an ARN being typed (--serial, else the record apply wrote
beside the outfile, else the account's one unassigned device of the name in
the QR code's label or the outfile's file name), draws the QR code (or
prints the seed) on a terminal, then asks for two consecutive codes from the
authenticator app, one a line on standard input. The codes are checked
against the seed locally first; a mistyped code is refused without any
request to AWS. Then it enables the device for --user, or the caller's own
IAM user.

The QR code is drawn only when standard output is a terminal or with
--force; --no-show skips it (for a device already in the app).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.AWS.load(cmd); err != nil {
				return err
			}
			opts.Outfile = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return enrollRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Identity, "identity", "i", "", "age identity `file` or SSH private key (a passphrase is asked on the terminal)")
	f.StringVar(&opts.User, "user", "", "IAM user `name` to enable the device for (default: the caller's own user)")
	f.StringVar(&opts.Serial, "serial", "", "the device's serial number (`ARN`), when it cannot be found from the outfile")
	f.BoolVar(&opts.Invert, "invert", false, "draw dark modules as ink, for light-background terminals")
	f.BoolVar(&opts.Force, "force", false, "draw the QR code (or print the seed) even when standard output is not a terminal")
	f.BoolVar(&opts.NoShow, "no-show", false, "do not draw the QR code or print the seed (the app already has the device)")
	addAWSFlags(cmd, &opts.AWS)
	return cmd
}

func enrollRun(ctx context.Context, opts *enrollOpts) error {
	out, errOut := opts.IO.Out, opts.IO.Err
	if opts.Identity == "" {
		return withHint(errors.New("no identity given"), "pass -i with the age identity file or SSH private key the outfile was sealed to")
	}
	sec, err := openOutfile(opts.Identity, opts.Outfile)
	if err != nil {
		return err
	}
	defer sec.Wipe()

	client, err := iamclient.New(ctx, opts.AWS.client(errOut))
	if err != nil {
		return err
	}
	found, err := enroll.Find(ctx, client, sec, opts.Outfile, opts.Serial)
	if errors.Is(err, enroll.ErrNotFound) {
		return withHint(err, "pass --serial ARN, the device's serial number (arn:aws:iam::ACCOUNT:mfa/PATH/NAME), as whoever ran apply can read it in the plan or the apply report")
	}
	if err != nil {
		return awsHint(err)
	}
	user := opts.User
	if user == "" {
		if _, user, err = client.CallerUser(ctx); err != nil {
			return withHint(err, "pass --user NAME, the IAM user to enable the device for")
		}
	}
	fmt.Fprintf(out, "Device %s (found by %s), for user %s.\n", found.Serial, found.Via, user)

	switch {
	case opts.NoShow:
	case opts.IO.OutTTY || opts.Force:
		if err := showSecret(out, sec, opts.Invert); err != nil {
			return err
		}
	default:
		fmt.Fprintln(errOut, "mfabulk: not showing the QR code or seed: standard output is not a terminal (--force shows it anyway)")
	}

	first, second, err := askCodes(ctx, opts, sec.Seed)
	if err != nil {
		return err
	}
	if err := client.Enable(ctx, user, found.Serial, first, second); err != nil {
		return awsHint(err)
	}
	fmt.Fprintf(out, "Enabled %s for user %s\n", found.Serial, user)
	return nil
}

// openOutfile decrypts the outfile in memory and reads its secret.
func openOutfile(identity, outfile string) (*enroll.Secret, error) {
	ids, err := seal.ReadIdentities(identity, seal.TerminalPassphrase)
	if err != nil {
		return nil, fmt.Errorf("reading identity: %w", err)
	}
	ct, err := inputfile.Read(outfile, maxOutfileSize)
	if err != nil {
		return nil, fmt.Errorf("reading outfile: %w", err)
	}
	plain, err := seal.Decrypt(ct, ids)
	if err != nil {
		return nil, fmt.Errorf("decrypting %s: %w", outfile, err)
	}
	defer clear(plain)
	sec, err := enroll.Open(plain, outfile)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", outfile, err)
	}
	return sec, nil
}

// showSecret draws the QR code, or prints the seed in groups of four.
func showSecret(w io.Writer, sec *enroll.Secret, invert bool) error {
	if sec.QR != nil {
		fmt.Fprintln(w, "Scan this QR code with your authenticator app:")
		return qrterm.Write(w, sec.QR, invert)
	}
	grouped := make([]byte, 0, len(sec.Seed)+len(sec.Seed)/4)
	for i, c := range sec.Seed {
		if i > 0 && i%4 == 0 {
			grouped = append(grouped, ' ')
		}
		grouped = append(grouped, c)
	}
	defer clear(grouped)
	fmt.Fprintf(w, "Base32 seed: type it into your authenticator app as a time-based key.\n\n  ")
	w.Write(grouped)
	fmt.Fprint(w, "\n\n")
	return nil
}

// askCodes asks for two consecutive codes until a pair checks against
// the seed (once from a pipe, a few times on a terminal). Nothing is sent
// to AWS until then.
func askCodes(ctx context.Context, opts *enrollOpts, seed []byte) (string, string, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	in := bufio.NewReader(opts.IO.In)
	// Prompts are for a person at a terminal; codes piped in are read
	// silently.
	prompts, attempts := io.Discard, 1
	if opts.IO.InTTY {
		prompts, attempts = opts.IO.Err, enrollAttempts
		fmt.Fprintln(prompts, "Type the code your authenticator app shows, then wait for the next one and type it too.")
	}
	var last error
	for i := range attempts {
		type answer struct {
			first, second string
			err           error
		}
		got := make(chan answer, 1)
		go func() {
			a, b, err := enroll.AskCodes(in, prompts)
			got <- answer{a, b, err}
		}()
		var a answer
		select {
		case a = <-got:
		case <-ctx.Done():
			fmt.Fprintln(opts.IO.Err)
			return "", "", withHint(errInterrupted, "nothing was sent to AWS")
		}
		if errors.Is(a.err, enroll.ErrNoCodes) && last != nil {
			break
		}
		if a.err != nil {
			return "", "", withHint(a.err, "run enroll again and type the codes the app shows")
		}
		last = enroll.Check(seed, a.first, a.second, now())
		if last == nil {
			return a.first, a.second, nil
		}
		if i < attempts-1 {
			fmt.Fprintf(opts.IO.Err, "mfabulk: %v; nothing was sent to AWS. Try again with the next two codes.\n", last)
		}
	}
	return "", "", withHint(last, "nothing was sent to AWS: type two codes the app shows one after the other (wait for the second), and check this computer's clock")
}

// awsHint adds enroll's permissions to an access-denied error.
func awsHint(err error) error {
	if code := iamclient.ErrorCode(err); strings.HasPrefix(code, "AccessDenied") {
		return withHint(err, "access denied: enrolling needs %s", enrollPermissions)
	}
	return err
}
