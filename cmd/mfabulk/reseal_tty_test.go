//go:build unix

package main

import (
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

// TestResealPassphraseSSHKeyOnATerminal: the identity that re-seals is a
// passphrase-protected SSH key (ssh-keygen -N), asked for on the terminal
// without echo, as show and enroll ask; the outfile is then sealed to the
// manifest's new recipient only.
func TestResealPassphraseSSHKeyOnATerminal(t *testing.T) {
	const pass = "s3cret-Words"
	s := sshKeyWithPassphrase(t, pass)
	id, _ := age.GenerateX25519Identity()
	writeFile(t, "identity.txt", id.String()+"\n", 0o600)
	writeFile(t, "m.yaml", "version: 1\ndefaults:\n  path: /faults/\n  recipients: ["+id.Recipient().String()+"]\ndevices:\n  - {name: d000}\n", 0o644)
	cmd, tty, out := onTerminal(t, "apply", "-f", "m.yaml", "--auto-approve", "-i", "key")
	typeAfter(t, tty, out, "Enter passphrase for key: ", pass)
	code, _ := waitExit(t, cmd, 60*time.Second)
	drained(out, 5*time.Second)
	got := out.String()
	if code != exitOK || !strings.Contains(got, "1 re-sealed, 0 failed") {
		t.Fatalf("apply -i key exited %d:\n%s", code, got)
	}
	if strings.Contains(got, pass) {
		t.Errorf("the passphrase was echoed:\n%s", got)
	}
	if out, code := s.mfabulk("plan", "-f", "m.yaml", "--detailed-exitcode"); code != 0 {
		t.Errorf("plan after the re-seal exited %d:\n%s", code, lastLines(out, 10))
	}
	s.checkDurable()
	s.leakScan()
}
