package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/enroll"
	"github.com/mfabulk/mfabulk/internal/qrterm"
	"github.com/mfabulk/mfabulk/internal/seal"
	"github.com/mfabulk/mfabulk/internal/view"
)

// enrollPermissions are what a person needs to enroll (README, "Enrolling").
const enrollPermissions = "iam:ListVirtualMFADevices and iam:ListMFADeviceTags, and iam:EnableMFADevice and iam:ListMFADevices on their own user (AWS's self-service MFA policy grants all but iam:ListMFADeviceTags)"

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
	// Resync resynchronises a device enabled already, with codes
	// computed from the outfile's seed, instead of enabling it.
	Resync bool
	// AllowUnverified goes on, without a terminal to ask on, with a
	// device whose provenance is not proven: a safety switch, taken only
	// from the command line (settings.go).
	AllowUnverified bool
	// Now is the clock codes are checked against; time.Now when nil.
	Now func() time.Time
}

func newEnrollCmd(streams IO, runF func(context.Context, *enrollOpts) error) *cobra.Command {
	opts := &enrollOpts{IO: streams}
	cmd := &cobra.Command{
		Use:   "enroll -i IDENTITY OUTFILE|s3://BUCKET/KEY",
		Short: "Enable an outfile's virtual MFA device for your IAM user",
		Long: `enroll is for the person who receives an outfile, run with their own AWS
credentials. It decrypts the outfile in memory (as show does), finds its
device without an ARN being typed (--serial, else the record apply wrote
beside the outfile, else the account's one unassigned device of the name in
the QR code's label or the outfile's file name), and checks who made it:
the device must carry mfabulk's create-ID tag, and the record beside the
outfile must prove it. When it is not proven, enroll warns, asks for "yes"
on a terminal, and without one refuses unless --allow-unverified. Then it
draws the QR code (or prints the seed) on a terminal and asks for two
consecutive codes from the authenticator app, one a line on standard input.
The codes are checked against the seed locally first; a mistyped code is
refused without any request to AWS. Then it enables the device for --user,
or the caller's own IAM user.

A device already enabled for that user (apply enables those whose manifest
entry names user:) is not enabled again: enroll says so, shows the code for
the app, and exits 0 when the record proves it is the outfile's device. An
outfile whose record proves another create ID than the device's is
outdated (the device was made again since): enroll says so and stops.

--resync resynchronises a device enabled already whose codes IAM stopped
accepting (iam:ResyncMFADevice), with two codes computed from the
outfile's secret: nothing is shown or asked.

The QR code is drawn only when standard output is a terminal or with
--force; --no-show skips it (for a device already in the app).

An outfile in an S3 store is named by its URL, s3://BUCKET/PREFIX/KEY: the
object and its record are read in memory with the same credentials (the
endpoint from --s3-endpoint-url or the SDK's AWS_ENDPOINT_URL_S3), which
need s3:GetObject on both; the record object is checked as the one beside
a local outfile is. Nothing is written locally.`,
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
	f.BoolVar(&opts.Resync, "resync", false, "resynchronise the device, enabled already, with two codes computed from the outfile's secret (iam:ResyncMFADevice)")
	f.BoolVar(&opts.AllowUnverified, "allow-unverified", false, "enable a device that mfabulk cannot prove it made, without asking (command line only)")
	addAWSFlags(cmd, &opts.AWS)
	return cmd
}

func enrollRun(ctx context.Context, opts *enrollOpts) error {
	out, errOut := opts.IO.Out, opts.IO.Err
	if opts.Identity == "" {
		return withHint(errors.New("no identity given"), "pass -i with the age identity file or SSH private key the outfile was sealed to")
	}
	of, err := readPersonOutfile(ctx, opts.IO, opts.AWS, opts.Outfile)
	if err != nil {
		return err
	}
	sec, err := openOutfile(opts.Identity, opts.Outfile, of.ciphertext)
	if err != nil {
		return err
	}
	defer sec.Wipe()
	beside := of.beside()

	client, err := iamclient.New(ctx, opts.AWS.client(errOut))
	if err != nil {
		return err
	}
	user := opts.User
	if user == "" {
		if _, user, err = client.CallerUser(ctx); err != nil {
			return withHint(err, "pass --user NAME, the IAM user to enable the device for")
		}
	}
	found, err := enroll.Find(ctx, client, sec, beside, opts.Serial)
	var assigned *enroll.AssignedError
	if errors.As(err, &assigned) && strings.EqualFold(assigned.Device.User, user) {
		// The one device of the name is enabled for this very user:
		// whether it is the outfile's is told below, not by --serial.
		found, err = enroll.Found{Serial: assigned.Device.Serial, Via: "the account's devices: enabled for you"}, nil
	}
	if errors.Is(err, enroll.ErrNotFound) {
		return withHint(err, "pass --serial ARN, the device's serial number (arn:aws:iam::ACCOUNT:mfa/PATH/NAME), as whoever ran apply can read it in the plan or the apply report")
	}
	if err != nil {
		return awsHint(err)
	}
	fmt.Fprintf(out, "Device %s (found by %s), for user %s.\n", view.Text(found.Serial), view.Text(found.Via), view.Text(user))

	p, err := enroll.CheckProvenance(ctx, probedTags{client}, beside, found.Serial, tagsUnreadable)
	if err != nil {
		return awsHint(err)
	}
	if err := outdated(p, found.Serial); err != nil {
		return err
	}
	since, enabled, err := client.EnabledFor(ctx, user, found.Serial)
	if err != nil {
		return awsHint(err)
	}
	if opts.Resync {
		return resync(ctx, opts, client, sec.Seed, found.Serial, user, enabled)
	}
	if enabled {
		return alreadyEnabled(opts, sec, p, found.Serial, user, since)
	}
	in := bufio.NewReader(opts.IO.In)
	if err := confirmProvenance(ctx, opts, p, found.Serial, in); err != nil {
		return err
	}

	switch {
	case opts.NoShow:
	case opts.IO.OutTTY || opts.Force:
		if err := showSecret(out, sec, opts.Invert, opts.IO.OutTTY); err != nil {
			return err
		}
	default:
		fmt.Fprintln(errOut, "mfabulk: not showing the QR code or seed: standard output is not a terminal (--force shows it anyway)")
	}

	first, second, err := askCodes(ctx, opts, in, sec.Seed)
	if err != nil {
		return err
	}
	if err := client.Enable(ctx, user, found.Serial, first, second); err != nil {
		return enableRefused(err, found.Serial, user)
	}
	fmt.Fprintf(out, "Enabled %s for user %s\n", view.Text(found.Serial), view.Text(user))
	return nil
}

// openOutfile decrypts the outfile's ciphertext ct in memory and reads
// its secret.
func openOutfile(identity, outfile string, ct []byte) (*enroll.Secret, error) {
	ids, err := seal.ReadIdentities(identity, seal.TerminalPassphrase)
	if err != nil {
		return nil, fmt.Errorf("reading identity: %w", err)
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

// showSecret draws the QR code, or prints the seed in groups of four;
// on a terminal (tty), a code is followed by the hint for a person who
// cannot scan it (scanHint).
func showSecret(w io.Writer, sec *enroll.Secret, invert, tty bool) error {
	if sec.QR != nil {
		fmt.Fprintln(w, "Scan this QR code with your authenticator app:")
		if err := qrterm.Write(w, sec.QR, invert); err != nil {
			return err
		}
		if tty {
			fmt.Fprintln(w, scanHint("enroll", invert))
		}
		return nil
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
func askCodes(ctx context.Context, opts *enrollOpts, in *bufio.Reader, seed []byte) (string, string, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
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
			fmt.Fprintf(opts.IO.Err, "mfabulk: %s; nothing was sent to AWS. Try again with the next two codes.\n", view.Text(last.Error()))
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

// confirmProvenance tells the person who made the device they are about
// to enable, from p ([enroll.CheckProvenance]): anyone allowed to create
// virtual MFA devices could have sealed one's QR code to them and kept
// its seed. It prints one line when mfabulk's evidence proves the device
// is its own; otherwise a warning on stderr, then "yes" is asked on a
// terminal, and without one enroll refuses unless --allow-unverified.
// Nothing has been shown or enabled yet.
func confirmProvenance(ctx context.Context, opts *enrollOpts, p enroll.Provenance, serial string, in *bufio.Reader) error {
	if p.Proven {
		fmt.Fprintf(opts.IO.Out, "Provenance: made by mfabulk: the device's %s tag matches the record beside the outfile, which is mfabulk's evidence (not a signature: see Enrolling).\n", device.CreateIDTag)
		return nil
	}
	warnUnverified(opts.IO, serial, p.Problems)
	if opts.AllowUnverified {
		fmt.Fprintln(opts.IO.Err, "Going on without proof of who made this device (--allow-unverified).")
		return nil
	}
	const hint = "ask your administrator who made this device; to enable it anyway, pass --allow-unverified"
	if !opts.IO.InTTY {
		return withHint(errors.New("mfabulk cannot prove it made this device, and standard input is not a terminal to ask on"), "nothing was enabled; %s", hint)
	}
	fmt.Fprint(opts.IO.Err, "\nEnable this device anyway?\n  Only 'yes' will be accepted.\n\n  Enter a value: ")
	yes, err := answeredYes(ctx, in, opts.IO.Err)
	switch {
	case err != nil:
		return withHint(err, "nothing was enabled")
	case !yes:
		return withHint(errors.New("enroll cancelled: the device's provenance is not proven"), "nothing was enabled; %s", hint)
	}
	return nil
}

// warnUnverified writes the warning block to stderr: red when stderr is
// a terminal and colour is on (styleFor's rules: NO_COLOR, TERM=dumb,
// --no-color), every value from outside escaped.
func warnUnverified(streams IO, serial string, problems []string) {
	streams.OutTTY = errIsTerminal(streams.Err)
	red := styleFor(streams).Color
	lines := []string{
		"",
		"WARNING: mfabulk cannot prove it made device " + view.Text(serial) + ":",
	}
	for _, p := range problems {
		lines = append(lines, "  - "+view.Text(p))
	}
	lines = append(lines,
		"WARNING: anyone who could create this device may hold its seed, and could use it",
		"WARNING: as your second factor. Ask your administrator before enabling it.",
		"")
	for _, l := range lines {
		if red && l != "" {
			l = "\x1b[1;31m" + l + "\x1b[0m"
		}
		fmt.Fprintln(streams.Err, l)
	}
}

// probedTags reads a device's tags with one attempt first, so that an
// endpoint without ListMFADeviceTags (moto answers with an error page,
// which the SDK would retry for two minutes) or a refusal is told at once;
// any other failure is read again with the client's retries.
type probedTags struct{ c *iamclient.Client }

func (p probedTags) ListTags(ctx context.Context, serial string) (map[string]string, error) {
	tags, err := p.c.ListTagsOnce(ctx, serial)
	if err == nil || tagsUnreadable(err) != "" {
		return tags, err
	}
	return p.c.ListTags(ctx, serial)
}

// tagsUnreadable says why a device's tags could not be read when enroll
// can go on without them (access denied, an endpoint without tags), and
// "" for any other error, which ends enroll.
func tagsUnreadable(err error) string {
	switch {
	case strings.HasPrefix(iamclient.ErrorCode(err), "AccessDenied"):
		return "its tags could not be read: IAM denied iam:ListMFADeviceTags (your credentials may lack that permission: ask your administrator for iam:ListMFADeviceTags on arn:aws:iam::*:mfa/*)"
	case iamclient.TagsUnsupported(err):
		return "its tags could not be read: the endpoint does not support iam:ListMFADeviceTags"
	}
	return ""
}

// errIsTerminal reports whether stderr is a terminal (IO records it for
// stdin and stdout only), looking through run's lockedWriter.
func errIsTerminal(w io.Writer) bool {
	if lw, ok := w.(*lockedWriter); ok {
		w = lw.w
	}
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}
