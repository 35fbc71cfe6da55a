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
	"unicode/utf8"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/plugin"
	"filippo.io/age/tag"
	"golang.org/x/crypto/ssh"
)

// ParseRecipient parses one recipient: an age key, classic X25519
// ("age1…") or post-quantum ("age1pq1…", from age-keygen -pq); an age tag
// recipient, the public side of a key held in hardware ("age1tag1…",
// "age1tagpq1…"); or an SSH public key ("ssh-ed25519 …", "ssh-rsa …").
// Other plugin recipients ("age1yubikey1…") are refused: sealing to one
// would run the plugin on the machine that seals.
//
// Its errors never quote s, nor pass on the age and agessh parsers' errors
// (which do): s may be a line of a file that is not a key at all, and an
// error can end up in a CI log for anyone to read. Callers that know s is
// safe to show (the user's own manifest text) quote it themselves.
func ParseRecipient(s string) (age.Recipient, error) {
	r, _, _, err := parse(s)
	return r, err
}

// Kind is what sort of key a recipient is.
type Kind int

// The kinds of recipient mfabulk seals to.
const (
	X25519      Kind = iota + 1 // age1…, from age-keygen
	PostQuantum                 // age1pq1…, from age-keygen -pq
	Tag                         // age1tag1…, a P-256 key, meant to be held in hardware
	TagPQ                       // age1tagpq1…, a post-quantum key, meant to be held in hardware
	SSHEd25519                  // ssh-ed25519 …
	SSHRSA                      // ssh-rsa …
)

// String names the kind for a reviewer.
func (k Kind) String() string {
	switch k {
	case X25519:
		return "age X25519"
	case PostQuantum:
		return "age post-quantum"
	case Tag:
		// A tag key is a P-256 public key: made for hardware (a
		// YubiKey, Secure Enclave, TPM), but its private key may be
		// anywhere, and nothing in it says where. So it is not called
		// hardware: a reviewer would take that as checked.
		return "age tag"
	case TagPQ:
		return "age tag post-quantum"
	case SSHEd25519:
		return "SSH ed25519"
	case SSHRSA:
		return "SSH RSA"
	}
	return "unknown"
}

// IsPostQuantum reports whether the kind is safe against a future quantum
// computer. age seals a file either to post-quantum recipients only or to
// classic ones only: one classic recipient would make the file as weak as
// that key, so age.Encrypt refuses a mix (see [CheckMix]).
func (k Kind) IsPostQuantum() bool { return k == PostQuantum || k == TagPQ }

// Describe parses one recipient as [ParseRecipient] does and returns its
// kind and fingerprint: an SSH key's usual SHA256:… fingerprint, or for an
// age key the SHA-256 of its text in the same form.
func Describe(s string) (Kind, string, error) {
	_, k, fp, err := parse(s)
	return k, fp, err
}

// ErrMixedPostQuantum is returned (wrapped) by [CheckMix] and
// [ParseRecipients] for a set of recipients that age cannot encrypt to.
var ErrMixedPostQuantum = errors.New("post-quantum and classic recipients cannot be mixed: age refuses to seal a file to both, since the classic key would make it as weak as a classic file")

// CheckMix reports whether age can seal one file to recipients of these
// kinds: all post-quantum or all classic, as age.Encrypt requires.
func CheckMix(kinds []Kind) error {
	pq, classic := 0, 0
	for _, k := range kinds {
		if k.IsPostQuantum() {
			pq++
		} else {
			classic++
		}
	}
	if pq > 0 && classic > 0 {
		return fmt.Errorf("%d post-quantum and %d classic: %w", pq, classic, ErrMixedPostQuantum)
	}
	return nil
}

// parse parses one recipient, and fingerprints it from the same parse.
func parse(s string) (age.Recipient, Kind, string, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "age1pq1"):
		r, err := age.ParseHybridRecipient(s)
		if err != nil {
			return nil, 0, "", errors.New("invalid age post-quantum recipient: want \"age1pq1\" and about 1,950 more lowercase bech32 characters, as age-keygen -pq prints (age v1.3 or later)")
		}
		return r, PostQuantum, textFingerprint(s), nil
	case strings.HasPrefix(s, "age1tag1") || strings.HasPrefix(s, "age1tagpq1"):
		r, err := tag.ParseRecipient(s)
		if err != nil {
			return nil, 0, "", errors.New("invalid age tag recipient: want \"age1tag1…\" or \"age1tagpq1…\" as the hardware key's plugin prints it")
		}
		if r.Hybrid() {
			return r, TagPQ, textFingerprint(s), nil
		}
		return r, Tag, textFingerprint(s), nil
	case strings.HasPrefix(s, "age1"):
		if name, _, err := plugin.ParseRecipient(s); err == nil && name != "" {
			// Only a well-formed plugin recipient gets here: a mistyped X25519
			// key fails bech32's checksum. The plugin's name is part of the
			// key's text, so it is not quoted either.
			return nil, 0, "", errors.New("age plugin recipients (age1NAME1…, such as age1yubikey1…) are not supported: sealing to one would run the plugin where mfabulk runs; " +
				"ask the key's owner for its tag recipient instead (age1tag1… or age1tagpq1…), which age v1.3 seals to without any plugin and which the owner's plugin decrypts")
		}
		r, err := age.ParseX25519Recipient(s)
		if err != nil {
			return nil, 0, "", errors.New("invalid age X25519 recipient: want \"age1\" and 58 more lowercase bech32 characters, as age-keygen prints")
		}
		return r, X25519, textFingerprint(s), nil
	case sshKeyType(s) == "ssh-ed25519" || sshKeyType(s) == "ssh-rsa":
		r, pub, err := parseSSH(s)
		if err != nil {
			return nil, 0, "", errors.New("invalid SSH recipient: want one authorized_keys line, \"ssh-ed25519 AAAA…\" or \"ssh-rsa AAAA…\" (RSA of at least 2048 bits)")
		}
		k := SSHEd25519
		if pub.Type() == "ssh-rsa" {
			k = SSHRSA
		}
		return r, k, ssh.FingerprintSHA256(pub), nil
	case strings.HasPrefix(s, "ssh-"):
		return nil, 0, "", errors.New("invalid SSH recipient: unsupported key type, want ssh-ed25519 or ssh-rsa")
	case s == "":
		return nil, 0, "", errors.New("empty recipient")
	default:
		return nil, 0, "", errors.New("unknown recipient type: want an age key (age1…, age1pq1…, age1tag1…, age1tagpq1…) or an SSH public key (ssh-ed25519 …, ssh-rsa …)")
	}
}

// textFingerprint is an age key's fingerprint: the SHA-256 of its text, in
// the form of an SSH key's.
func textFingerprint(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
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
// (usually who holds it), or for any other key a short form of its text:
// its prefix, eight characters after it and six of its tail
// ("age1tag1abcdefgh…uvwxyz"). It is "" for an SSH key without a comment.
func Label(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "ssh-") {
		if _, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(s)); err == nil {
			return cutLabel(comment)
		}
		return ""
	}
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		s = s[:i]
	}
	if len(s) <= 20 {
		return s
	}
	// The head keeps the kind's prefix (age1, age1pq1, age1tag1,
	// age1tagpq1) and 8 characters of the key after it, as the plan's
	// "Sealed to:" line does: a tag key's first 8 characters are all
	// prefix, and its last few alone a key made to match finds at once.
	head := 12
	if i := strings.LastIndexByte(s[:16], '1'); i >= 0 && i+9 < len(s)-6 {
		head = i + 9
	}
	return s[:head] + "…" + s[len(s)-6:]
}

// MaxLabel bounds a label as a record's JSON holds it, in bytes, and
// MaxRecipients the recipients of one device: every outfile's record and
// intent names each recipient (its fingerprint and label), and must stay
// within what is read back of one (journal.MaxIntentSize, 64 KiB). An SSH
// comment may be of any length; a record too large to read would leave
// its outfile unproven, never re-sealed.
const (
	MaxLabel      = 64
	MaxRecipients = 256
)

// cutLabel cuts a label, between runes, so that JSON writes it in at most
// MaxLabel bytes, "…" included when it was cut (a control character or
// '<' takes 6, as \u001b).
func cutLabel(s string) string {
	size := func(r rune, n int) int {
		switch {
		case r == utf8.RuneError && n == 1, r < 0x20, r == '<', r == '>', r == '&', r == '\u2028', r == '\u2029':
			return 6
		case r == '"', r == '\\':
			return 2
		}
		return n
	}
	total := 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		total += size(r, n)
		i += n
	}
	if total <= MaxLabel {
		return s
	}
	var b strings.Builder
	used := 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if used+size(r, n) > MaxLabel-len("…") {
			break
		}
		b.WriteString(s[i : i+n])
		used += size(r, n)
		i += n
	}
	return b.String() + "…"
}

// ParseRecipients parses every recipient, naming the position of the first
// bad one. Each is parsed once, for its key and its fingerprint alike. A
// list that age could not seal to (post-quantum mixed with classic, see
// [CheckMix]) is an error here, before any device is created for it.
func ParseRecipients(ss []string) (Recipients, error) {
	out := Recipients{Keys: make([]age.Recipient, 0, len(ss)), Fingerprints: make([]string, 0, len(ss)), Labels: make([]string, 0, len(ss))}
	kinds := make([]Kind, 0, len(ss))
	for i, s := range ss {
		r, k, fp, err := parse(s)
		if err != nil {
			return Recipients{}, fmt.Errorf("recipient #%d: %w", i+1, err)
		}
		out.Keys = append(out.Keys, r)
		out.Fingerprints = append(out.Fingerprints, fp)
		out.Labels = append(out.Labels, Label(s))
		kinds = append(kinds, k)
	}
	if len(ss) > 1 {
		if err := CheckMix(kinds); err != nil {
			return Recipients{}, err
		}
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
