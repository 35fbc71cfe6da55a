package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/spf13/cobra"

	"github.com/mfabulk/mfabulk/internal/atomicfile"
	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/initmanifest"
)

// initOpts are init's options.
type initOpts struct {
	IO              IO
	AWS             awsOptions
	UsersWithoutMFA bool
	Group           string
	PathPrefix      string
	OutputFile      string
	// Pace caps the rate of init's reads (one ListMFADevices a user);
	// only --max-rate is a flag of init.
	Pace paceFlags
	now  func() time.Time // the header's time; time.Now when nil
}

func newInitCmd(streams IO, runF func(context.Context, *initOpts) error) *cobra.Command {
	opts := &initOpts{IO: streams}
	cmd := &cobra.Command{
		Use:   "init --users-without-mfa [--group G] [--path-prefix P] [-o FILE]",
		Short: "Write a manifest for the account's IAM users that have no MFA device",
		Long: `init --users-without-mfa reads the account's IAM users (ListUsers, or with
--group the group's members, GetGroup; --path-prefix keeps those whose path
begins with it) and writes a manifest with one device per user that has no
MFA device of any kind, named after the user, with user: "{{.Name}}" so that
apply enables each device for its user. It only reads.

The recipients are left empty for you to fill in (the escrow key in
defaults, each person's own key on their device): until then validate
reports recipient-required. The manifest goes to standard output, or to
-o FILE, which must not exist: init never overwrites a file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.AWS.load(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return initRun(cmd.Context(), opts)
		},
	}
	addAWSFlags(cmd, &opts.AWS)
	f := cmd.Flags()
	f.BoolVar(&opts.UsersWithoutMFA, "users-without-mfa", false, "one device per IAM user that has no MFA device")
	f.StringVar(&opts.Group, "group", "", "only the members of the IAM `group`")
	f.StringVar(&opts.PathPrefix, "path-prefix", "", "only users whose IAM path begins with `path` (e.g. /staff/); also the devices' path")
	f.StringVarP(&opts.OutputFile, "output-file", "o", "", "write the manifest to `file`, which must not exist (default: standard output)")
	addMaxRateFlag(cmd, &opts.Pace.MaxRate)
	return cmd
}

// groupRE is IAM's group name pattern.
var groupRE = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)

func initRun(ctx context.Context, opts *initOpts) error {
	if !opts.UsersWithoutMFA {
		return withHint(errors.New("init needs to know which users to list"), "pass --users-without-mfa")
	}
	if opts.PathPrefix != "" && !initmanifest.ValidPath(opts.PathPrefix) {
		return withHint(fmt.Errorf("--path-prefix %q is not an IAM path", opts.PathPrefix),
			"give a path that begins and ends with /, such as /staff/: it becomes the devices' path too")
	}
	if opts.Group != "" && !groupRE.MatchString(opts.Group) {
		return withHint(fmt.Errorf("--group %q is not an IAM group name", opts.Group), "use the group's name, not its ARN: letters, digits and + = , . @ _ -")
	}
	if opts.OutputFile != "" {
		// Checked before reading the account, so that a long read does
		// not end in a refusal; the exclusive create below is what holds.
		if _, err := os.Lstat(opts.OutputFile); err == nil {
			return existsError(opts.OutputFile)
		}
	}
	client, err := iamclient.New(ctx, opts.Pace.paced(opts.AWS.client(opts.IO.Err)))
	if err != nil {
		return err
	}
	account, _, err := client.Account(ctx)
	if err != nil {
		return initAWSError(err)
	}
	users, read, err := initmanifest.UsersWithoutMFA(ctx, client, initmanifest.Options{Group: opts.Group, PathPrefix: opts.PathPrefix})
	if err != nil {
		return initAWSError(err)
	}
	if len(users) == 0 {
		fmt.Fprintf(opts.IO.Err, "Every one of the %d IAM user(s) read has an MFA device; no manifest written.\n", read)
		return nil
	}
	now := time.Now
	if opts.now != nil {
		now = opts.now
	}
	data, skipped := initmanifest.Render(initmanifest.Header{
		Account: account, Generated: now(), Group: opts.Group, PathPrefix: opts.PathPrefix, Read: read,
	}, users)
	for _, u := range skipped {
		fmt.Fprintf(opts.IO.Err, "mfabulk: warning: user %q cannot name a device; left out\n", u)
	}
	where := "standard output"
	if opts.OutputFile == "" {
		if _, err := opts.IO.Out.Write(data); err != nil {
			return err
		}
	} else {
		if err := writeNewFile(opts.OutputFile, data); err != nil {
			return err
		}
		where = opts.OutputFile
	}
	fmt.Fprintf(opts.IO.Err, "Wrote a manifest to %s: %d device(s), for the IAM users without an MFA device (of %d read).\n",
		where, len(users)-len(skipped), read)
	fmt.Fprintln(opts.IO.Err, "Fill in its recipients, then run mfabulk validate and plan on it.")
	return nil
}

// initAWSError adds the permissions init needs to an AccessDenied.
func initAWSError(err error) error {
	if iamclient.ErrorCode(err) == "AccessDenied" {
		return withHint(err, "init needs sts:GetCallerIdentity, iam:ListUsers (or iam:GetGroup with --group), iam:ListVirtualMFADevices and iam:ListMFADevices")
	}
	return err
}

func existsError(path string) error {
	return withHint(fmt.Errorf("%s already exists; init never overwrites a file", path), "choose another -o FILE, or move that one away")
}

// writeNewFile creates path, mode 0600, and writes data to it, never
// through a link and never over anything that exists (O_EXCL), then makes
// it durable. A file it created and could not fill is removed.
func writeNewFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, 0o600)
	if errors.Is(err, os.ErrExist) {
		return existsError(path)
	}
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = atomicfile.SyncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
