package main

import (
	"context"
	"github.com/mfabulk/mfabulk/internal/suggest"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"

	"github.com/mfabulk/mfabulk/internal/manifest"
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
	if streams.noColor == nil {
		streams.noColor = new(bool)
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
		Version:       version,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetVersionTemplate("mfabulk {{.Version}} (" + runtime.Version() + ")\n")
	root.SetFlagErrorFunc(suggestFlag)
	root.PersistentFlags().String("config", "", "config `file` (default ./mfabulk.yaml, then $XDG_CONFIG_HOME/mfabulk/config.yaml)")
	if streams.noColor != nil {
		root.PersistentFlags().BoolVar(streams.noColor, "no-color", false, "no colour in the output (also NO_COLOR=1 or TERM=dumb)")
	}
	root.AddCommand(
		newValidateCmd(streams, nil),
		newPlanCmd(streams, nil),
		newInitCmd(streams, nil),
		newApplyCmd(streams, nil),
		newShowCmd(streams, nil),
		newShowPlanCmd(streams, nil),
		newEnrollCmd(streams, nil),
		newStoreCmd(streams),
		newWhoamiCmd(streams, nil),
		newConfigCmd(streams),
		newVersionCmd(streams),
		newGenManCmd(),
	)
	registerCompletions(root)
	return root
}

// newGenManCmd is the hidden command `make man` runs: a man page in
// section 1 for mfabulk and each of its commands, into DIR.
func newGenManCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "gen-man DIR",
		Short:  "Write man pages into DIR",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return err
			}
			root := cmd.Root()
			root.DisableAutoGenTag = true // the date is SOURCE_DATE_EPOCH's, if set
			return doc.GenManTree(root, &doc.GenManHeader{Title: "MFABULK", Section: "1", Source: "mfabulk " + version}, args[0])
		},
	}
}

// outputFormats are the --output values each command takes, for shell
// completion.
var outputFormats = map[string][]string{
	"validate": {"text", "json"},
	"plan":     {"text", "json", "markdown"},
	"whoami":   {"text", "json"},
}

// registerCompletions teaches the shell completion (cobra's "completion"
// command) the values of --output, and the manifest's device names for
// --target and --replace, read from the -f files on the command line.
func registerCompletions(root *cobra.Command) {
	for _, c := range root.Commands() {
		if formats, ok := outputFormats[c.Name()]; ok && c.Flags().Lookup("output") != nil {
			_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
		}
		for _, name := range []string{"target", "replace"} {
			if c.Flags().Lookup(name) != nil && c.Flags().Lookup("file") != nil {
				_ = c.RegisterFlagCompletionFunc(name, completeDeviceNames)
			}
		}
	}
}

// completeDeviceNames offers the names of the devices in the -f manifests;
// none when they do not load.
func completeDeviceNames(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	// Cobra parses the flags twice when completing, so a repeatable
	// flag holds each value twice.
	given, _ := cmd.Flags().GetStringArray("file")
	var files []string
	for _, f := range given {
		if !slices.Contains(files, f) {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ms, err := manifest.LoadAccounts(manifest.LoadOptions{}, files...)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for _, m := range ms {
		for _, d := range m.Devices {
			if strings.HasPrefix(d.Name, prefix) {
				names = append(names, d.Name)
			}
			if len(ms) > 1 && strings.HasPrefix(m.Account+"/"+d.Name, prefix) {
				names = append(names, m.Account+"/"+d.Name)
			}
		}
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// suggestFlag adds "did you mean --NAME?" to an unknown flag's error when a
// flag of the command is within two edits of it, as cobra does for
// commands.
func suggestFlag(cmd *cobra.Command, err error) error {
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return err
	}
	var names []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	best := suggest.Nearest(name, names)
	if best == "" {
		return err
	}
	return withHint(err, "did you mean --%s?", best)
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
