package seal

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"testing"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"
)

func TestEncryptDecryptRoundTrip(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ParseRecipients([]string{id.Recipient().String()})
	if err != nil {
		t.Fatal(err)
	}
	ct, err := Encrypt([]byte("JBSWY3DPEHPK3PXP"), rs.Keys)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, []byte("JBSWY3DPEHPK3PXP")) {
		t.Fatal("ciphertext contains the plaintext")
	}
	pt, err := Decrypt(ct, []age.Identity{id})
	if err != nil || string(pt) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("Decrypt = %q, %v", pt, err)
	}
}

func TestParseRecipientErrors(t *testing.T) {
	for _, s := range []string{"", "age1notakey", "ssh-ed25519 AAAA", "pgp-key"} {
		if _, err := ParseRecipient(s); err == nil {
			t.Errorf("ParseRecipient(%q) succeeded", s)
		}
	}
}

// TestParseRecipientsFingerprints: the fingerprints come from the same
// parse as the keys, in order: an SSH key's usual SHA256:… fingerprint,
// an age key's SHA-256 of its text.
func TestParseRecipientsFingerprints(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(edPub)
	if err != nil {
		t.Fatal(err)
	}
	ageText := id.Recipient().String()
	sshText := string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(sshPub))) + " alice@example"
	rs, err := ParseRecipients([]string{" " + ageText + "\n", sshText})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(ageText))
	want := []string{"SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:]), ssh.FingerprintSHA256(sshPub)}
	if len(rs.Keys) != 2 || len(rs.Fingerprints) != 2 || rs.Fingerprints[0] != want[0] || rs.Fingerprints[1] != want[1] {
		t.Errorf("ParseRecipients = %d keys, fingerprints %q; want 2, %q", len(rs.Keys), rs.Fingerprints, want)
	}
	if _, err := ParseRecipients([]string{ageText, "ssh-ed25519 AAAA"}); err == nil {
		t.Error("ParseRecipients with a bad key succeeded")
	}
}
