package seal_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"

	"github.com/mfabulk/mfabulk/internal/reftools"
	"github.com/mfabulk/mfabulk/internal/seal"
)

const secret = "JBSWY3DPEHPK3PXP"

// asker answers with pass and counts how often it was asked.
type asker struct {
	pass  string
	asked int
}

func (a *asker) ask(string) ([]byte, error) {
	a.asked++
	return []byte(a.pass), nil
}

func sealTo(t *testing.T, recipient string) []byte {
	t.Helper()
	rs, err := seal.ParseRecipients([]string{recipient})
	if err != nil {
		t.Fatal(err)
	}
	ct, err := seal.Encrypt([]byte(secret), rs.Keys)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// sshKey makes an ed25519 key with ssh-keygen, protected by pass ("" for
// none), and returns its path and public key line.
func sshKey(t *testing.T, pass string) (string, string) {
	t.Helper()
	keygen := reftools.Require(t, "ssh-keygen", "openssh-client")
	path := filepath.Join(t.TempDir(), "id_ed25519")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", pass, "-C", "", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return path, strings.TrimSpace(string(pub))
}

func TestEncryptedSSHKey(t *testing.T) {
	key, pub := sshKey(t, "correct horse")
	ct := sealTo(t, pub)

	a := &asker{pass: "correct horse"}
	ids, err := seal.ReadIdentities(key, a.ask)
	if err != nil {
		t.Fatal(err)
	}
	if a.asked != 0 {
		t.Errorf("asked for the passphrase %d times before it was needed", a.asked)
	}
	got, err := seal.Decrypt(ct, ids)
	if err != nil || string(got) != secret || a.asked != 1 {
		t.Fatalf("Decrypt = %q, %v after %d asks; want the secret after 1", got, err, a.asked)
	}

	wrong := &asker{pass: "wrong"}
	ids, _ = seal.ReadIdentities(key, wrong.ask)
	if _, err := seal.Decrypt(ct, ids); err == nil || wrong.asked != 1 {
		t.Errorf("wrong passphrase: Decrypt err %v after %d asks", err, wrong.asked)
	}

	// A ciphertext sealed to someone else never makes it ask.
	other, _ := age.GenerateX25519Identity()
	lazy := &asker{pass: "correct horse"}
	ids, _ = seal.ReadIdentities(key, lazy.ask)
	if _, err := seal.Decrypt(sealTo(t, other.Recipient().String()), ids); err == nil || lazy.asked != 0 {
		t.Errorf("another recipient's file: err %v after %d asks, want no match and no ask", err, lazy.asked)
	}

	if _, err := seal.ReadIdentities(key, nil); err == nil || !strings.Contains(err.Error(), "passphrase") {
		t.Errorf("no way to ask: %v", err)
	}
}

func TestPlainSSHKeyNeverAsks(t *testing.T) {
	key, pub := sshKey(t, "")
	ids, err := seal.ReadIdentities(key, func(string) ([]byte, error) { return nil, errors.New("asked") })
	if err != nil {
		t.Fatal(err)
	}
	if got, err := seal.Decrypt(sealTo(t, pub), ids); err != nil || string(got) != secret {
		t.Fatalf("Decrypt = %q, %v", got, err)
	}
}

// TestPassphraseIdentityFile: an age identity file encrypted with a
// passphrase, as age -p (-a) writes it: a single scrypt stanza.
func TestPassphraseIdentityFile(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	ct := sealTo(t, id.Recipient().String())
	for _, armored := range []bool{false, true} {
		sr, err := age.NewScryptRecipient("tr0ub4dor")
		if err != nil {
			t.Fatal(err)
		}
		sr.SetWorkFactor(10) // fast for the test; age -p uses 18
		var buf bytes.Buffer
		var w io.Writer = &buf
		var aw io.Closer
		if armored {
			a := armor.NewWriter(&buf)
			w, aw = a, a
		}
		ew, err := age.Encrypt(w, sr)
		if err != nil {
			t.Fatal(err)
		}
		ew.Write([]byte("# created: today\n" + id.String() + "\n"))
		ew.Close()
		if aw != nil {
			aw.Close()
		}
		path := filepath.Join(t.TempDir(), "identity.age")
		os.WriteFile(path, buf.Bytes(), 0o600)

		a := &asker{pass: "tr0ub4dor"}
		ids, err := seal.ReadIdentities(path, a.ask)
		if err != nil {
			t.Fatalf("armored=%v: %v", armored, err)
		}
		if got, err := seal.Decrypt(ct, ids); err != nil || string(got) != secret || a.asked != 1 {
			t.Errorf("armored=%v: Decrypt = %q, %v after %d asks", armored, got, err, a.asked)
		}

		wrong := &asker{pass: "nope"}
		ids, _ = seal.ReadIdentities(path, wrong.ask)
		if _, err := seal.Decrypt(ct, ids); err == nil || !strings.Contains(err.Error(), "incorrect passphrase") {
			t.Errorf("armored=%v: wrong passphrase: %v", armored, err)
		}
		if _, err := seal.ReadIdentities(path, nil); err == nil {
			t.Errorf("armored=%v: no way to ask, yet read", armored)
		}
	}
}

func TestAskFailureIsReported(t *testing.T) {
	key, pub := sshKey(t, "pass")
	ids, err := seal.ReadIdentities(key, func(name string) ([]byte, error) {
		return nil, errors.Join(errors.New(name), seal.ErrNoTerminal)
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = seal.Decrypt(sealTo(t, pub), ids)
	if err == nil || !strings.Contains(err.Error(), "no terminal") {
		t.Errorf("Decrypt without a terminal: %v", err)
	}
}
