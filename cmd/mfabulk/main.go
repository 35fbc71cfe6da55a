// Command mfabulk provisions AWS IAM virtual MFA devices in bulk from a
// YAML manifest, sealing each device's one-time secret into an
// age-encrypted outfile.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/mfabulk/mfabulk/internal/nodump"
	"github.com/mfabulk/mfabulk/internal/view"
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
	// Interrupts is the process's Ctrl-C handling; nil when a test runs
	// a command in-process, which then only sees its context cancelled.
	Interrupts *interrupts
	// noColor is the root's --no-color flag, shared by every copy of
	// the streams; set by [run].
	noColor *bool
}

func main() {
	os.Exit(mainExit())
}

// mainExit runs the command line on the process's streams; it is also the
// entry point testscript uses for the "mfabulk" command.
//
// Before anything else it keeps the process out of core dumps (a seed is in
// memory from a create's response until it is sealed), and takes over
// SIGINT and SIGTERM for the two-stage stop of [interrupts].
func mainExit() int {
	if err := nodump.Apply(); err != nil {
		fmt.Fprintf(os.Stderr, "mfabulk: error: protecting secrets from core dumps: %v\n", err)
		return exitError
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, in := newInterrupts(context.Background(), os.Stderr, os.Exit)
	go in.watch(sigs)
	streams := IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, InTTY: isTerminal(os.Stdin), OutTTY: isTerminal(os.Stdout), Interrupts: in}
	return run(ctx, os.Args[1:], streams)
}

// styleFor turns colour on for terminals, unless --no-color is given,
// NO_COLOR is set and not empty (as no-color.org has it), or TERM=dumb
// says the terminal cannot show it.
func styleFor(streams IO) view.Style {
	off := os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" || (streams.noColor != nil && *streams.noColor)
	return view.Style{Color: streams.OutTTY && !off}
}

// isTerminal asks the terminal driver (isatty), not the file mode: /dev/null
// is a character device too, and cron and CI run with it as standard input.
func isTerminal(f *os.File) bool {
	return term.IsTerminal(int(f.Fd()))
}
