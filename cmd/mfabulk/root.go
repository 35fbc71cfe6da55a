package main

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
)

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, streams IO) int {
	// Apply's progress and the --debug log are written from several
	// goroutines; one lock keeps each write whole, even when a caller
	// hands in one buffer for both streams.
	var mu sync.Mutex
	streams.Out = &lockedWriter{mu: &mu, w: streams.Out}
	streams.Err = &lockedWriter{mu: &mu, w: streams.Err}
	if streams.Interrupts != nil {
		streams.Interrupts.setErr(streams.Err)
	}
	root := newRootCmd(streams)
	root.SetArgs(args)
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	return exitCode(root.ExecuteContext(ctx), streams)
}

func newRootCmd(streams IO) *cobra.Command {
	root := &cobra.Command{
		Use:   "mfabulk",
		Short: "Provision AWS IAM virtual MFA devices in bulk, declaratively",
		Long: `mfabulk reads a YAML manifest of virtual MFA devices, shows how the account
differs from it (plan) and creates the missing devices (apply), sealing each
device's one-time secret into an age-encrypted outfile for its recipients.`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.PersistentFlags().String("config", "", "config `file` (default ./mfabulk.yaml, then $XDG_CONFIG_HOME/mfabulk/config.yaml)")
	root.AddCommand(
		newValidateCmd(streams),
		newPlanCmd(streams),
		newApplyCmd(streams),
		newShowCmd(streams),
		newConfigCmd(streams),
		newVersionCmd(streams),
	)
	return root
}

// addManifestFlag adds -f/--file to commands that read a manifest.
func addManifestFlag(cmd *cobra.Command) {
	cmd.Flags().StringArrayP("file", "f", nil, "manifest `file` or folder of *.yaml manifests; repeatable (or MFABULK_FILE, or file: in the config)")
}

// addAWSFlags adds the options a user of the AWS CLI expects.
func addAWSFlags(cmd *cobra.Command) {
	cmd.Flags().String("profile", "", "AWS shared config `profile` (default: AWS_PROFILE)")
	cmd.Flags().String("region", "", "AWS `region` (default: AWS_REGION, then us-east-1; IAM is global)")
	cmd.Flags().String("endpoint-url", "", "IAM and STS endpoint `URL` (default: AWS_ENDPOINT_URL_IAM, AWS_ENDPOINT_URL)")
	cmd.Flags().Duration("max-backoff", 20*time.Second, "longest wait between retries of a throttled or failed call (attempts: AWS_MAX_ATTEMPTS, default 10)")
	cmd.Flags().Bool("debug", false, "log every AWS request, response status and retry to stderr (never bodies, so never a secret)")
	cmd.Flags().Duration("connect-timeout", iamclient.DefaultConnectTimeout, "longest wait to connect to the endpoint (as the AWS CLI's --cli-connect-timeout)")
	cmd.Flags().Duration("read-timeout", iamclient.DefaultReadTimeout, "longest the endpoint may stay silent while an answer is due, headers or body (as the AWS CLI's --cli-read-timeout)")
	cmd.Flags().Duration("call-timeout", iamclient.DefaultCallTimeout, "longest one AWS call may take, all its retries and backoff included")
	// Checked before the command runs, whichever layer (flag, MFABULK_*,
	// config file) set them, so bad values stop it before any AWS call.
	prev := cmd.PreRunE
	cmd.PreRunE = func(cmd *cobra.Command, args []string) error {
		if prev != nil {
			if err := prev(cmd, args); err != nil {
				return err
			}
		}
		s, err := loadSettings(cmd)
		if err != nil {
			return err
		}
		return checkTimeouts(cmd, s)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
