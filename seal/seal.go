// Package seal turns a device's one-time secret into an age-encrypted
// outfile, and opens such a file again for the person who receives it.
//
// The common case is [ParseRecipients] once, before any device is created,
// then [Encrypt] with the secret for each device, in memory, so that the
// plaintext never touches the disk; the ciphertext is then written with
// atomicfile.WriteNew, which never replaces an existing file.
package seal

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"
)

// ParseRecipient parses one recipient: an age X25519 key ("age1…") or an
// SSH public key ("ssh-ed25519 …", "ssh-rsa …").
func ParseRecipient(s string) (age.Recipient, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "age1"):
		r, err := age.ParseX25519Recipient(s)
		if err != nil {
			return nil, fmt.Errorf("invalid age X25519 recipient: %w", err)
		}
		return r, nil
	case strings.HasPrefix(s, "ssh-"):
		r, err := agessh.ParseRecipient(s)
		if err != nil {
			return nil, fmt.Errorf("invalid SSH recipient: %w", err)
		}
		return r, nil
	case s == "":
		return nil, errors.New("empty recipient")
	default:
		return nil, fmt.Errorf("unknown recipient type %q: want an age key (age1…) or an SSH public key (ssh-ed25519 …, ssh-rsa …)", abbreviate(s))
	}
}

// ParseRecipients parses every recipient, naming the position of the first
// bad one.
func ParseRecipients(ss []string) ([]age.Recipient, error) {
	out := make([]age.Recipient, 0, len(ss))
	for i, s := range ss {
		r, err := ParseRecipient(s)
		if err != nil {
			return nil, fmt.Errorf("recipient #%d: %w", i+1, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Encrypt seals plaintext to the recipients in memory.
func Encrypt(plaintext []byte, recipients []age.Recipient) ([]byte, error) {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, recipients...)
	if err != nil {
		return nil, fmt.Errorf("encrypting: %w", err)
	}
	if _, err := w.Write(plaintext); err != nil {
		return nil, fmt.Errorf("encrypting: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encrypting: %w", err)
	}
	return buf.Bytes(), nil
}

// Decrypt opens ciphertext with the identities, in memory.
func Decrypt(ciphertext []byte, identities []age.Identity) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(ciphertext), identities...)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func abbreviate(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}

// Fingerprint identifies a recipient without being it, for audit records:
// an SSH key's usual SHA256:… fingerprint, or for an age key the SHA-256
// of its text in the same form.
func Fingerprint(recipient string) string {
	recipient = strings.TrimSpace(recipient)
	if strings.HasPrefix(recipient, "ssh-") {
		if pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(recipient)); err == nil {
			return ssh.FingerprintSHA256(pub)
		}
	}
	sum := sha256.Sum256([]byte(recipient))
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}
