package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/mfabulk/mfabulk/internal/seal"
)

// A device sealed to more than seal.MaxRecipients keys is a validation
// error at its entry, before any call: its outfile's record names every
// recipient and would be too large to read back. The defaults' list is
// reported once, at the entry it names first.
func TestRecipientsPerDeviceBounded(t *testing.T) {
	dir := t.TempDir()
	var keys strings.Builder
	for range seal.MaxRecipients {
		id, _ := age.GenerateX25519Identity()
		keys.WriteString(id.Recipient().String() + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "team.txt"), []byte(keys.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	src := "version: 1\ndefaults:\n  recipientsFiles: [team.txt]\ndevices:\n  - name: a\n  - name: b\n    recipients: [" + key1 + "]\n"
	_, err := Parse("m.yaml", dir, []byte(src))
	var ds Diagnostics
	if !errors.As(err, &ds) || len(ds) != 1 || ds[0].Rule != "recipients-count" || ds[0].Pos.String() != "m.yaml:6:11" {
		t.Fatalf("device b sealed to %d recipients: got %v, want one recipients-count at m.yaml:6:11", seal.MaxRecipients+1, err)
	}
	src = "version: 1\ndefaults:\n  recipientsFiles: [team.txt]\n  recipients: [" + key1 + "]\ndevices:\n  - name: a\n  - name: b\n"
	_, err = Parse("m.yaml", dir, []byte(src))
	if !errors.As(err, &ds) || len(ds) != 1 || ds[0].Rule != "recipients-count" || ds[0].Pos.String() != "m.yaml:4:16" {
		t.Fatalf("defaults of %d recipients: got %v, want one recipients-count at m.yaml:4:16", seal.MaxRecipients+1, err)
	}
}
