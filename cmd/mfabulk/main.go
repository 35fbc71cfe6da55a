// Command mfabulk provisions AWS IAM virtual MFA devices in bulk from a
// YAML manifest, sealing each device's one-time secret into an
// age-encrypted outfile.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/mfabulk/mfabulk/view"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// IO is where a command reads and writes, and whether those are terminals.
// Tests run commands in-process with buffers and flip the TTY flags.
type IO struct {
	In     io.Reader
	Out    io.Writer
	Err    io.Writer
	InTTY  bool
	OutTTY bool
}

func main() {
	os.Exit(mainExit())
}

// mainExit runs the command line on the process's streams; it is also the
// entry point testscript uses for the "mfabulk" command.
func mainExit() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	streams := IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, InTTY: isTerminal(os.Stdin), OutTTY: isTerminal(os.Stdout)}
	return run(ctx, os.Args[1:], streams)
}

// styleFor turns colour on for terminals, unless NO_COLOR is set.
func styleFor(streams IO) view.Style {
	_, noColor := os.LookupEnv("NO_COLOR")
	return view.Style{Color: streams.OutTTY && !noColor}
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
