//go:build unix

package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/creack/pty"

	"github.com/mfabulk/mfabulk/internal/reftools"
)

// showOnTerminal runs this test binary as mfabulk show on a new
// pseudo-terminal of cols×rows, its standard output and controlling
// terminal, and returns its exit code and all it printed there.
func showOnTerminal(t *testing.T, cols, rows uint16, args ...string) (int, string) {
	t.Helper()
	cmd := subprocess(append([]string{"show"}, args...)...)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: cols, Rows: rows})
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	out, done := new(syncBuffer), make(chan struct{})
	go func() {
		_, _ = io.Copy(out, tty)
		close(done)
	}()
	code, _ := waitExit(t, cmd, 20*time.Second)
	select { // the pty's last lines, after the exit
	case <-done:
	case <-time.After(5 * time.Second):
	}
	return code, strings.ReplaceAll(out.String(), "\r\n", "\n")
}

// TestShowTellsAboutInvert is issue 22's third item as a new user met
// it: on a light-background terminal the QR code is its own negative,
// which the app does not read, and nothing said that --invert draws it for
// a light background. On a terminal, a line under the code says so (and,
// with --invert, how to undo it); it is plain text, the same with
// NO_COLOR; a code sent elsewhere with --force carries no hint.
func TestShowTellsAboutInvert(t *testing.T) {
	startLocal(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile("identity.txt", []byte(id.String()+"\n"), 0o600)
	os.WriteFile("m.yaml", []byte("version: 1\ndefaults:\n  recipients: ["+id.Recipient().String()+"]\ndevices:\n  - name: alice\n"), 0o644)
	if out, code := runInProcess("apply", "-f", "m.yaml", "--auto-approve"); code != exitOK {
		t.Fatalf("apply: exit %d\n%s", code, out)
	}
	const light = "Cannot scan it? On a light-background terminal, run show again with --invert."
	const dark = "Cannot scan it? On a dark background, run show again without --invert."

	code, out := showOnTerminal(t, 80, 40, "-i", "identity.txt", "out/alice.png.age")
	if code != exitOK || !strings.Contains(out, "Scan this QR code") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if i, j := strings.LastIndex(out, "█"), strings.Index(out, light); j < 0 || j < i {
		t.Errorf("no --invert hint under the code:\n%s", out)
	}

	code, out = showOnTerminal(t, 80, 40, "--invert", "-i", "identity.txt", "out/alice.png.age")
	if code != exitOK || !strings.Contains(out, dark) || strings.Contains(out, light) {
		t.Errorf("--invert: exit %d:\n%s", code, out)
	}

	t.Setenv("NO_COLOR", "1")
	code, out = showOnTerminal(t, 80, 40, "-i", "identity.txt", "out/alice.png.age")
	if code != exitOK || !strings.Contains(out, "\n"+light+"\n") {
		t.Errorf("NO_COLOR: exit %d, the hint is not a plain line of its own:\n%q", code, out)
	}

	// Not a terminal: the code goes where --force sends it, without a
	// hint for a person who is not reading it there.
	out, code = runInProcess("show", "--force", "-i", "identity.txt", "out/alice.png.age")
	if code != exitOK || !strings.Contains(out, "Scan this QR code") || strings.Contains(out, "Cannot scan it?") {
		t.Errorf("--force into a pipe: exit %d:\n%s", code, out)
	}
}

// TestShowHintInTmux reads the hint off a real terminal's screen (tmux,
// 80×24, the standard size): a short name's code fills it but for the
// title and the prompt's line, so the hint rides in the title rather
// than pushing the code's top off the screen; the whole code is still
// there, both its top and bottom rows.
func TestShowHintInTmux(t *testing.T) {
	tmux := reftools.Require(t, "tmux", "tmux")
	startLocal(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile("identity.txt", []byte(id.String()+"\n"), 0o600)
	os.WriteFile("m.yaml", []byte("version: 1\ndefaults:\n  recipients: ["+id.Recipient().String()+"]\ndevices:\n  - name: alice\n"), 0o644)
	if out, code := runInProcess("apply", "-f", "m.yaml", "--auto-approve"); code != exitOK {
		t.Fatalf("apply: exit %d\n%s", code, out)
	}
	dir, _ := os.Getwd()
	// tmux runs the command in its server's environment: the script
	// carries this test's, runs this test binary as mfabulk, and then
	// leaves the pane open, its cursor where the shell's prompt would be.
	var script strings.Builder
	script.WriteString("#!/bin/sh\ncd " + shWord(dir) + " || exit 1\nenv")
	for _, kv := range append(os.Environ(), "MFABULK_TEST_AS_MAIN=1", "TERM=xterm-256color") {
		script.WriteString(" " + shWord(kv))
	}
	script.WriteString(" " + shWord(os.Args[0]) + " show -i identity.txt out/alice.png.age\nprintf 'exit %s$ ' $?\nexec sleep 60\n")
	runSh := filepath.Join(t.TempDir(), "run.sh")
	if err := os.WriteFile(runSh, []byte(script.String()), 0o700); err != nil {
		t.Fatal(err)
	}
	sock := fmt.Sprintf("mfabulk-show-%d", os.Getpid())
	tm := func(args ...string) (string, error) {
		out, err := exec.Command(tmux, append([]string{"-L", sock, "-f", "/dev/null"}, args...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := tm("new-session", "-d", "-x", "80", "-y", "24", "-s", "show", runSh); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() { tm("kill-server") })
	var screen string
	for deadline := time.Now().Add(60 * time.Second); ; {
		out, err := tm("capture-pane", "-p", "-t", "show")
		if err == nil && strings.Contains(out, "$") && strings.Contains(out, "exit ") {
			screen = out
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("show did not end within 60s; the screen:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimRight(screen, "\n"), "\n")
	if !strings.Contains(screen, "exit 0$") {
		t.Fatalf("show failed; the screen:\n%s", screen)
	}
	if len(lines) < 3 || !strings.Contains(lines[0], "Scan this QR code") || !strings.Contains(screen, "--invert") {
		t.Fatalf("the screen's first line is not the title, or no --invert hint is on it:\n%s", screen)
	}
	// The code's top row (its finder patterns) right under the title,
	// and its bottom row just above the prompt: the whole code is there.
	if !strings.HasPrefix(lines[1], "█▀▀▀▀▀▀▀█") || !strings.HasPrefix(strings.TrimSpace(lines[len(lines)-2]), "████") {
		t.Errorf("the code is not whole on the screen:\n%s", screen)
	}
}
