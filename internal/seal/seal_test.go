package seal

import (
	"bytes"
	"testing"

	"filippo.io/age"
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
	ct, err := Encrypt([]byte("JBSWY3DPEHPK3PXP"), rs)
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
