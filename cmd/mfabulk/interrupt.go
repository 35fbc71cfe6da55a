package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// exitInterrupted is the shell's code for a process ended by SIGINT.
const exitInterrupted = 130

// errInterrupted ends a command that stopped because the user asked.
var errInterrupted = errors.New("interrupted")

// stopGrace is how long the process may take to end after a hard stop
// before it exits regardless of what it is blocked on.
const stopGrace = 2 * time.Second

// interrupts implements Terraform's two-stage Ctrl-C (SIGINT or SIGTERM).
// While apply is carrying out changes, the first interrupt is a soft stop:
// no new device starts, calls in flight finish and their outfiles are
// written. Anywhere else (reading the account, at the prompt), and on the
// second interrupt, it is a hard stop: the context is cancelled, and if the
// process has not ended after stopGrace it exits with 130. Any further
// interrupt exits at once.
type interrupts struct {
	cancel context.CancelFunc
	errw   io.Writer
	exit   func(int) // os.Exit, except in tests

	mu       sync.Mutex
	count    int
	soft     chan struct{} // non-nil during a soft-stoppable phase
	announce func()        // tells the user about a soft stop
	softDone bool          // soft was closed
}

// newInterrupts returns a context that a hard stop cancels, and the
// handler; call [interrupts.signal] for every interrupt received.
func newInterrupts(parent context.Context, errw io.Writer, exit func(int)) (context.Context, *interrupts) {
	ctx, cancel := context.WithCancel(parent)
	return ctx, &interrupts{cancel: cancel, errw: errw, exit: exit}
}

// setErr sets where the handler writes, once run has made it safe for
// concurrent writers.
func (in *interrupts) setErr(w io.Writer) {
	in.mu.Lock()
	in.errw = w
	in.mu.Unlock()
}

// signal handles one interrupt.
func (in *interrupts) signal() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.count++
	switch {
	case in.count == 1 && in.soft != nil:
		in.softDone = true
		close(in.soft)
		if in.announce != nil {
			in.announce()
		}
	case in.count == 1 || (in.count == 2 && in.softDone):
		if in.softDone {
			fmt.Fprintln(in.errw, "Stopping now; devices in flight are left for the next plan to find.")
		}
		in.cancel()
		time.AfterFunc(stopGrace, func() { in.exit(exitInterrupted) })
	default:
		in.exit(exitInterrupted)
	}
}

// interrupted reports whether any interrupt was received.
func (in *interrupts) interrupted() bool {
	if in == nil {
		return false
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.count > 0
}

// softPhase makes the first interrupt a soft stop until end is called:
// stop is closed by it, and announce is called to say so. With a nil
// handler (commands run in-process by tests), stop is never closed.
func (in *interrupts) softPhase(announce func()) (stop <-chan struct{}, end func()) {
	if in == nil {
		return nil, func() {}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	ch := make(chan struct{})
	if in.count > 0 {
		close(ch) // an interrupt already came: start nothing
	} else {
		in.soft, in.announce = ch, announce
	}
	return ch, func() {
		in.mu.Lock()
		in.soft, in.announce = nil, nil
		in.mu.Unlock()
	}
}

// watch calls in.signal for every value on sigs, for the process's life.
func (in *interrupts) watch(sigs <-chan os.Signal) {
	for range sigs {
		in.signal()
	}
}
