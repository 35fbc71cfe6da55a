package seal

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/plugin"
	"golang.org/x/crypto/ssh"
)

// tagtestRecipients are age-plugin-tagtest's fixed tag recipients, classic
// then post-quantum (testdata/tagtest-recipients.txt).
func tagtestRecipients(t *testing.T) (classic, hybrid string) {
	t.Helper()
	b, err := os.ReadFile("testdata/tagtest-recipients.txt")
	if err != nil {
		t.Fatal(err)
	}
	for l := range strings.Lines(string(b)) {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "age1tag1"):
			classic = l
		case strings.HasPrefix(l, "age1tagpq1"):
			hybrid = l
		}
	}
	return classic, hybrid
}

// oneOfEachKind is a recipient of every kind, by kind.
func oneOfEachKind(t *testing.T) map[Kind]string {
	t.Helper()
	x, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	pq, err := age.GenerateHybridIdentity()
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
	classic, hybrid := tagtestRecipients(t)
	return map[Kind]string{
		X25519:      x.Recipient().String(),
		PostQuantum: pq.Recipient().String(),
		Tag:         classic,
		TagPQ:       hybrid,
		SSHEd25519:  string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(sshPub))) + " alice@laptop",
	}
}

// TestRecipientKinds: age v1.3's post-quantum keys (age-keygen -pq) and
// tag recipients are recipients, fingerprinted as age keys are. On main,
// an age1pq1 key was "invalid age X25519 recipient".
func TestRecipientKinds(t *testing.T) {
	for want, s := range oneOfEachKind(t) {
		k, fp, err := Describe(s)
		if err != nil {
			t.Errorf("%v: Describe: %v", want, err)
			continue
		}
		if k != want {
			t.Errorf("Describe = kind %v, want %v", k, want)
		}
		if want == SSHEd25519 {
			continue
		}
		sum := sha256.Sum256([]byte(s))
		if wantFP := "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:]); fp != wantFP {
			t.Errorf("%v: fingerprint %s, want %s", want, fp, wantFP)
		}
		if _, err := ParseRecipients([]string{s}); err != nil {
			t.Errorf("%v: ParseRecipients: %v", want, err)
		}
	}
}

// TestPostQuantumRoundTrip: an outfile sealed to an age1pq1 key opens with
// its AGE-SECRET-KEY-PQ-1 identity, read as show and enroll read it.
func TestPostQuantumRoundTrip(t *testing.T) {
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ParseRecipients([]string{id.Recipient().String(), oneOfEachKind(t)[TagPQ]})
	if err != nil {
		t.Fatal(err)
	}
	ct, err := Encrypt([]byte("JBSWY3DPEHPK3PXP"), rs.Keys)
	if err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/pq.txt"
	if err := os.WriteFile(path, []byte("# created by age-keygen -pq\n"+id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ids, err := ReadIdentities(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := Decrypt(ct, ids)
	if err != nil || string(pt) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("Decrypt = %q, %v", pt, err)
	}
}

// TestCheckMixAgreesWithAge: CheckMix refuses exactly the pairs of kinds
// that age.Encrypt refuses, so that validation catches, before any device
// is created, every list that sealing would fail on.
func TestCheckMixAgreesWithAge(t *testing.T) {
	keys := oneOfEachKind(t)
	for ka, a := range keys {
		for kb, b := range keys {
			ra, err := ParseRecipient(a)
			if err != nil {
				t.Fatal(err)
			}
			rb, err := ParseRecipient(b)
			if err != nil {
				t.Fatal(err)
			}
			_, ageErr := age.Encrypt(io.Discard, ra, rb)
			ours := CheckMix([]Kind{ka, kb})
			if (ageErr == nil) != (ours == nil) {
				t.Errorf("%v with %v: age.Encrypt: %v; CheckMix: %v", ka, kb, ageErr, ours)
			}
			_, err = ParseRecipients([]string{a, b})
			if (ours == nil) != (err == nil) || ours != nil && !errors.Is(err, ErrMixedPostQuantum) {
				t.Errorf("%v with %v: ParseRecipients: %v; CheckMix: %v", ka, kb, err, ours)
			}
		}
	}
}

// TestPluginRecipientRefused: a plugin recipient (age1yubikey1…) is refused
// with the way out, the owner's tag recipient, and without quoting it.
func TestPluginRecipientRefused(t *testing.T) {
	point := make([]byte, 33)
	point[0] = 2
	for _, name := range []string{"yubikey", "se", "tpm", "example"} {
		s := plugin.EncodeRecipient(name, point)
		_, err := ParseRecipient(s)
		if err == nil {
			t.Fatalf("%s: accepted", s)
		}
		if !strings.Contains(err.Error(), "tag recipient") || strings.Contains(err.Error(), s[len(name)+5:]) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestNewKindsErrorsDoNotQuote: malformed keys of the new kinds are
// refused without quoting them (ParseRecipient's rule).
func TestNewKindsErrorsDoNotQuote(t *testing.T) {
	keys := oneOfEachKind(t)
	// Its last character changed: one in 32 keys ends in "x" already.
	last := "x"
	if strings.HasSuffix(keys[PostQuantum], last) {
		last = "q"
	}
	for _, s := range []string{
		keys[PostQuantum][:len(keys[PostQuantum])-1] + last,
		keys[Tag][:30],
		keys[TagPQ][:200],
		"age1pq1secretlookingtext",
		"age1tag1secretlookingtext",
		"age1foo1secretlookingtext",
	} {
		_, err := ParseRecipient(s)
		if err == nil {
			t.Fatalf("%.40s…: accepted", s)
		}
		if strings.Contains(err.Error(), "secretlooking") || strings.Contains(err.Error(), s[10:20]) {
			t.Errorf("error quotes the input: %v", err)
		}
	}
}
