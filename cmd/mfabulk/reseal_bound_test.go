package main

import (
	"strings"
	"testing"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
)

// A recipient whose SSH comment is 70,000 characters long (a PR can add
// one to a recipients file; the views cut it) does not make the outfiles'
// records too large to read back: after the escrow key is rotated, the
// plan still re-seals every outfile, instead of "No changes" while the
// removed key still opens them.
func TestResealWithALongRecipientComment(t *testing.T) {
	s := newScenario(t, iamlocal.Options{}, 2)
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJbhL3u9bxpeY/rca7Ya2zTIFQVAZiZ4kiJM4MoCXbOW"
	writeFile(t, "team.txt", key+" "+strings.Repeat("c", 70000)+"\n", 0o644)
	m := strings.Replace(string(mustRead(t, "m.yaml")), "  recipients:", "  recipientsFiles: [team.txt]\n  recipients:", 1)
	writeFile(t, "m.yaml", m, 0o644)
	s.converge(1)
	s.rotateEscrow()
	listed := s.planJSON()
	for _, name := range s.names {
		if !strings.HasPrefix(listed[name], "reseal: ") {
			t.Errorf("after the escrow key was swapped, plan lists %s as %q, want reseal", name, listed[name])
		}
	}
}
