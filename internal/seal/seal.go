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
//
// Its errors never quote s, nor pass on the age and agessh parsers' errors
// (which do): s may be a line of a file that is not a key at all, and an
// error can end up in a CI log for anyone to read. Callers that know s is
// safe to show (the user's own manifest text) quote it themselves.
func ParseRecipient(s string) (age.Recipient, error) {
	r, _, err := parse(s)
	return r, err
}

// parse parses one recipient, and fingerprints it from the same parse:
// an SSH key's usual SHA256:… fingerprint, or for an age key the SHA-256
// of its text in the same form.
func parse(s string) (age.Recipient, string, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "age1"):
		r, err := age.ParseX25519Recipient(s)
		if err != nil {
			return nil, "", errors.New("invalid age X25519 recipient: want \"age1\" and 58 more lowercase bech32 characters, as age-keygen prints")
		}
		sum := sha256.Sum256([]byte(s))
		return r, "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:]), nil
	case sshKeyType(s) == "ssh-ed25519" || sshKeyType(s) == "ssh-rsa":
		r, pub, err := parseSSH(s)
		if err != nil {
			return nil, "", errors.New("invalid SSH recipient: want one authorized_keys line, \"ssh-ed25519 AAAA…\" or \"ssh-rsa AAAA…\" (RSA of at least 2048 bits)")
		}
		return r, ssh.FingerprintSHA256(pub), nil
	case strings.HasPrefix(s, "ssh-"):
		return nil, "", errors.New("invalid SSH recipient: unsupported key type, want ssh-ed25519 or ssh-rsa")
	case s == "":
		return nil, "", errors.New("empty recipient")
	default:
		return nil, "", errors.New("unknown recipient type: want an age key (age1…) or an SSH public key (ssh-ed25519 …, ssh-rsa …)")
	}
}

// parseSSH is agessh.ParseRecipient, keeping the parsed key for its
// fingerprint.
func parseSSH(s string) (age.Recipient, ssh.PublicKey, error) {
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s))
	if err != nil {
		return nil, nil, err
	}
	var r age.Recipient
	switch pub.Type() {
	case "ssh-rsa":
		r, err = agessh.NewRSARecipient(pub)
	case "ssh-ed25519":
		r, err = agessh.NewEd25519Recipient(pub)
	default:
		err = errors.New("unknown SSH recipient type")
	}
	if err != nil {
		return nil, nil, err
	}
	return r, pub, nil
}

// sshKeyType is the first field of an authorized_keys line.
func sshKeyType(s string) string {
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i]
	}
	return s
}

// Recipients is a parsed list of recipients, ready to seal to, with the
// fingerprint of each, in the same order, for audit records, and a label
// for people (see [Label]).
type Recipients struct {
	Keys         []age.Recipient
	Fingerprints []string
	Labels       []string
}

// Label names a recipient for people in a plan: an SSH key's comment
// (usually who holds it), or for any other key a short form of its text,
// its first and last characters ("age1abcd…wxyz"). It is "" for an SSH
// key without a comment.
func Label(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "ssh-") {
		if _, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(s)); err == nil {
			return comment
		}
		return ""
	}
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		s = s[:i]
	}
	if len(s) <= 16 {
		return s
	}
	return s[:8] + "…" + s[len(s)-4:]
}

// ParseRecipients parses every recipient, naming the position of the first
// bad one. Each is parsed once, for its key and its fingerprint alike.
func ParseRecipients(ss []string) (Recipients, error) {
	out := Recipients{Keys: make([]age.Recipient, 0, len(ss)), Fingerprints: make([]string, 0, len(ss)), Labels: make([]string, 0, len(ss))}
	for i, s := range ss {
		r, fp, err := parse(s)
		if err != nil {
			return Recipients{}, fmt.Errorf("recipient #%d: %w", i+1, err)
		}
		out.Keys = append(out.Keys, r)
		out.Fingerprints = append(out.Fingerprints, fp)
		out.Labels = append(out.Labels, Label(s))
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
