package journal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/mfabulk/mfabulk/internal/atomicfile"
)

// Record is written beside an outfile once it is durable: which device,
// in which account, the outfile's secret belongs to. The create ID is the
// one the device was tagged with, so that a later plan can tell an outfile
// whose device was since deleted and recreated by another run. It holds no
// secret of the device's; its proof is a secret of the folder's (see
// [NewCreateID]).
type Record struct {
	Account  string    `json:"account"`
	Device   string    `json:"device"`
	Path     string    `json:"path"`
	Serial   string    `json:"serial"`
	CreateID string    `json:"create_id"`
	Created  time.Time `json:"created"`
	// Proof is the create ID's proof, and OutfileSHA256 the hex SHA-256
	// of the outfile's bytes: see [Record.Proves]. A record written
	// before they existed has neither, and proves nothing.
	Proof         string `json:"proof,omitempty"`
	OutfileSHA256 string `json:"outfile_sha256,omitempty"`
	// Recipients are who the outfile is sealed to, so that a later plan
	// can tell when the manifest's recipients moved on (a rotated escrow
	// key, a person's new SSH key) and re-seal it. A record written
	// before they were recorded has none: who can decrypt it is unknown.
	Recipients []Recipient `json:"recipients,omitempty"`
	// SecretMAC binds the record to the secret sealed in its outfile:
	// see [SecretMAC]. A record without it (an older mfabulk's, or one a
	// later run settled without the secret in memory) does not say whose
	// secret the outfile holds, only whose record it is.
	SecretMAC string `json:"secret_mac,omitempty"`
}

// SecretMAC returns the hex HMAC-SHA256, keyed by a create ID's proof, of
// the plaintext sealed in an outfile (the QR code PNG or the Base32
// seed, as seal.Encrypt got it). The proof and the SHA-256 binding prove
// that a record is the device's and is bound to the outfile's bytes, but
// a principal who can read a record (an S3 prefix's readers) knows the
// proof, and can bind a forged record to another device's outfile copied
// to this one's name. A re-seal decrypts that outfile and would seal the
// other device's secret to this one's recipients. The secret is what such
// a principal does not know (a 160-bit random seed), so a re-seal checks
// this MAC over what it decrypted before it seals anything.
func SecretMAC(proof string, secret []byte) string {
	m := hmac.New(sha256.New, []byte(proof))
	m.Write([]byte("mfabulk outfile secret v1\x00"))
	m.Write(secret)
	return hex.EncodeToString(m.Sum(nil))
}

// SecretMatches reports whether secret is the one mac (a record's
// SecretMAC) was made for under proof; false when either is empty.
func SecretMatches(proof, mac string, secret []byte) bool {
	return proof != "" && mac != "" && hmac.Equal([]byte(SecretMAC(proof, secret)), []byte(mac))
}

// Recipient is one key an outfile is sealed to: its fingerprint (see
// seal.Recipients) and, for people, a label (an SSH key's comment, or a
// short form of an age key). It holds no key material a reader could
// encrypt to, only what names it.
type Recipient struct {
	Fingerprint string `json:"fingerprint"`
	Label       string `json:"label,omitempty"`
}

// RecordName returns the record's file name for an outfile's name.
func RecordName(outName string) string { return "." + outName + ".id" }

// NewCreateID returns a random create ID and its proof. The create ID is
// what a device is tagged with (mfabulk:create-id), and a tag is public:
// anyone allowed iam:ListMFADeviceTags in the account reads it. So the
// create ID is not what proves that a folder made a device; the proof is:
// 256 random bits, hex, whose hash ([CreateIDOf]) the create ID is. Only
// the run that made the device knows it, and it keeps it in its intent and
// then in the record beside the outfile, nowhere else. A record or intent
// made elsewhere from the tag (another checkout, a person, a planted
// file) cannot carry it, so it proves nothing, and mfabulk never deletes
// a device on evidence without the proof. The create ID, 128 bits of the
// hash in hex, is accepted by IAM's tag value pattern.
func NewCreateID() (createID, proof string) {
	var b [32]byte
	rand.Read(b[:]) // never fails: since Go 1.24 a broken source crashes the program
	proof = hex.EncodeToString(b[:])
	return CreateIDOf(proof), proof
}

// CreateIDOf returns the create ID whose proof is proof.
func CreateIDOf(proof string) string {
	sum := sha256.Sum256([]byte("mfabulk create-id v1\x00" + proof))
	return hex.EncodeToString(sum[:16])
}

// Proves reports whether proof is the proof of createID ("" proves
// nothing).
func Proves(proof, createID string) bool {
	return proof != "" && createID != "" && subtle.ConstantTimeCompare([]byte(CreateIDOf(proof)), []byte(createID)) == 1
}

// MaxOutfileSize bounds what is read of an outfile to check a record's
// binding: a sealed QR code is a few kilobytes.
const MaxOutfileSize = 1 << 20

// Proves reports whether the record proves that the outfile outName in dir
// holds the secret of the device tagged with its create ID: it carries the
// create ID's proof, and it is bound to the outfile's bytes (their SHA-256),
// so that a record copied beside another outfile proves nothing either.
// A record without them (written by an older mfabulk) proves nothing: plan
// says so, and never deletes a device on its strength.
func (r Record) Proves(dir *atomicfile.Dir, outName string) (bool, error) {
	if !Proves(r.Proof, r.CreateID) || r.OutfileSHA256 == "" {
		return false, nil
	}
	sum, err := OutfileSHA256(dir, outName)
	if err != nil || sum == "" {
		return false, err
	}
	return subtle.ConstantTimeCompare([]byte(sum), []byte(r.OutfileSHA256)) == 1, nil
}

// OutfileSHA256 returns the hex SHA-256 of the outfile outName in dir; ""
// when it is not a regular file of the caller's or is larger than
// MaxOutfileSize (nothing a record can be bound to).
func OutfileSHA256(dir *atomicfile.Dir, outName string) (string, error) {
	f, err := dir.OpenFile(outName, os.O_RDONLY, 0)
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ELOOP) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading outfile: %w", err)
	}
	defer f.Close()
	if atomicfile.CheckOwnFile(f) != nil {
		return "", nil
	}
	data, err := io.ReadAll(io.NewSectionReader(f, 0, MaxOutfileSize+1))
	if err != nil {
		return "", fmt.Errorf("reading outfile: %w", err)
	}
	if len(data) > MaxOutfileSize {
		return "", nil
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// WriteRecord records, durably, whose secret the outfile outName holds.
// It replaces an earlier record of the same outfile name (a replaced
// device's), and nothing that is not a record.
func WriteRecord(dir *atomicfile.Dir, outName string, r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return dir.ReplaceOwn(RecordName(outName), append(b, '\n'), func(data []byte) bool {
		var old Record
		return json.Unmarshal(data, &old) == nil && old.CreateID != ""
	})
}

// ReadRecord reads the record of outfile outName; nil when there is none
// or it cannot be trusted (not a regular file of the caller's with one
// link, too large, malformed).
func ReadRecord(dir *atomicfile.Dir, outName string) (*Record, error) {
	f, err := dir.OpenFile(RecordName(outName), os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ELOOP) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading outfile record: %w", err)
	}
	defer f.Close()
	if atomicfile.CheckOwnFile(f) != nil {
		return nil, nil
	}
	var r Record
	data, err := readBounded(f)
	if err != nil || json.Unmarshal(data, &r) != nil || r.CreateID == "" {
		return nil, nil
	}
	return &r, nil
}
