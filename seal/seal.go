// Package seal turns a device's one-time secret into an age-encrypted
// outfile, and opens such a file again for the person who receives it.
//
// The common case is [ParseRecipients] once, before any device is created,
// then [WriteNew] with the secret for each device. The plaintext never
// touches the disk: it is encrypted in memory, and only the ciphertext is
// written, to a temporary file that is fsync'd and then linked into place,
// which fails rather than replace a file that already exists.
package seal

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"
)

// ErrExists is returned by [WriteNew] when the outfile already exists; the
// existing file is left untouched.
var ErrExists = errors.New("outfile already exists")

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

// EnsureDir creates dir (and parents) with mode 0700 so that only the
// operator can list the outfiles, and checks that a file can be created in
// it. It is called before any device is created.
func EnsureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".mfabulk-probe-*")
	if err != nil {
		return fmt.Errorf("folder is not writable: %w", err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// WriteNew writes data to path durably and atomically, with mode 0600, and
// never replaces an existing file: the data goes to a temporary file in the
// same folder, which is fsync'd and then hard-linked to path. The link
// fails if path exists, so two writers can never clobber each other.
func WriteNew(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s: %w", path, ErrExists)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := writeSync(tmp, data); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s: %w", path, ErrExists)
		}
		return err
	}
	return syncDir(dir)
}

func writeSync(f *os.File, data []byte) error {
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes the new directory entry durable: without it a power loss
// can leave a file whose data was synced but whose name was not.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func abbreviate(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}

// MoveAside renames an outfile that is being replaced to
// PATH.replaced-TIMESTAMP (adding -2, -3, … if that exists), never
// overwriting anything, and returns the new name.
func MoveAside(path, timestamp string) (string, error) {
	for i := 1; ; i++ {
		dst := path + ".replaced-" + timestamp
		if i > 1 {
			dst = fmt.Sprintf("%s-%d", dst, i)
		}
		err := os.Link(path, dst)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		if err := os.Remove(path); err != nil {
			return "", err
		}
		return dst, syncDir(filepath.Dir(path))
	}
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
