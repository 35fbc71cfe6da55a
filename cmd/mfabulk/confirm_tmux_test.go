package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mfabulk/mfabulk/internal/reftools"
)

// TestConfirmPromptInTmux is issue 20's item 3 as a reviewer meets it: an
// SSH key's comment in a recipients file carries terminal escapes (erase
// the line, back to its first column, an OSC 8 link) that would redraw
// the "Sealed to:" line over the key's fingerprint, so that a swapped
// escrow key looks unchanged at apply's confirmation prompt. Run in a real
// terminal (tmux) and read off its screen, the line still shows the key's
// type and fingerprint, and the comment's escapes as text.
func TestConfirmPromptInTmux(t *testing.T) {
	tmux := reftools.Require(t, "tmux", "tmux")
	srv := startLocal(t)
	dir, _ := os.Getwd()
	write := func(name, data string) {
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("m.yaml", "version: 1\ndefaults:\n  path: /q4/\n  recipients: ["+testKey+"]\n  recipientsFiles: [keys.txt]\ndevices:\n  - name: ceo\n")
	const fingerprint = "SHA256:eabWGw98djSs2q/5j7Xl2HihmIpTnI0/2zn63J05pvQ"
	write("keys.txt", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPgx15BHLXb2J71hcjh6T9+ssiDT8Y2i/aRUk2sl7KHd mallory@evil"+
		"\x1b[2K\x1b[1G\x1b]8;;https://evil.example/\x1b\\Sealed to: escrow@sec\x1b]8;;\x1b\\\n")

	// tmux runs the command in its server's environment: the script
	// carries this test's (iamlocal's endpoint, credentials) and runs this
	// test binary as mfabulk.
	var script strings.Builder
	script.WriteString("#!/bin/sh\ncd " + shWord(dir) + " || exit 1\nexec env")
	for _, kv := range append(os.Environ(), "MFABULK_TEST_AS_MAIN=1", "TERM=xterm-256color") {
		script.WriteString(" " + shWord(kv))
	}
	script.WriteString(" " + shWord(os.Args[0]) + " apply -f m.yaml --no-color\n")
	runSh := filepath.Join(t.TempDir(), "run.sh")
	if err := os.WriteFile(runSh, []byte(script.String()), 0o700); err != nil {
		t.Fatal(err)
	}
	sock := fmt.Sprintf("mfabulk-test-%d", os.Getpid())
	tm := func(args ...string) (string, error) {
		out, err := exec.Command(tmux, append([]string{"-L", sock, "-f", "/dev/null"}, args...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := tm("new-session", "-d", "-x", "200", "-y", "50", "-s", "confirm", runSh); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() { tm("kill-server") })

	var screen string
	for deadline := time.Now().Add(60 * time.Second); ; {
		out, err := tm("capture-pane", "-p", "-t", "confirm")
		if err == nil && strings.Contains(out, "Enter a value:") {
			screen = out
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no confirmation prompt on the terminal within 60s; the screen:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var sealed string
	for _, line := range strings.Split(screen, "\n") {
		if strings.Contains(line, "Sealed to:") {
			if sealed != "" {
				t.Errorf("two \"Sealed to:\" lines on the screen, one forged:\n%s", screen)
			}
			sealed = line
		}
	}
	if !strings.Contains(sealed, "ssh-ed25519 "+fingerprint+" \"mallory@evil\\x1b[2K\\x1b[1G") {
		t.Errorf("the \"Sealed to:\" line at the prompt does not show the key's fingerprint and its comment's escapes as text: %q\nthe screen:\n%s", sealed, screen)
	}
	if _, err := tm("send-keys", "-t", "confirm", "no", "Enter"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(srv.Devices()); n != 0 {
		t.Errorf("%d device(s) created after answering no", n)
	}
}

// shWord quotes s for sh as one word, as it is (no escaping for a
// terminal: the script runs it).
func shWord(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
