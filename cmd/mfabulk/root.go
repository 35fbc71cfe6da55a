package main

import (
	"context"
	"io"
	"sync"

	"github.com/spf13/cobra"
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
		newValidateCmd(streams, nil),
		newPlanCmd(streams, nil),
		newInitCmd(streams, nil),
		newApplyCmd(streams, nil),
		newShowCmd(streams, nil),
		newShowPlanCmd(streams, nil),
		newEnrollCmd(streams, nil),
		newConfigCmd(streams),
		newVersionCmd(streams),
	)
	return root
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
