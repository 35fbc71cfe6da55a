// Package enroll is what the person who receives an outfile needs to
// enable its virtual MFA device for their IAM user without typing an ARN
// or a seed: the outfile's secret read in memory ([Open]), the device it
// belongs to found in the account ([Find]), and the two codes from their
// authenticator app read and checked locally against the seed ([AskCodes],
// [Check]) before IAM's EnableMFADevice is called with them.
//
// The seed is a secret: it stays in a [Secret] in memory, which the caller
// wipes; no error here quotes it, a code, or the text of a QR code.
package enroll

import (
	"bytes"
	"errors"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/mfabulk/mfabulk/internal/qrterm"
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// Secret is an outfile's plaintext, read.
type Secret struct {
	// Seed is the Base32 seed, from the file itself or from the QR
	// code's otpauth:// URI.
	Seed []byte
	// QR is the QR code's module grid, nil for a Base32 outfile.
	QR qrterm.Grid
	// Name is the device's name: from the QR code's label
	// ("NAME@ACCOUNT", after an "Amazon Web Services:" issuer at AWS),
	// or, for a Base32 outfile, guessed from the outfile's file name
	// (the default template is "{{.Name}}{{.Ext}}.age").
	Name string
	// NameFromFile tells that Name was guessed from the file name.
	NameFromFile bool
	// Account is the account ID in the QR code's label, "" if none.
	Account string
}

// Wipe clears the seed and the QR code from memory.
func (s *Secret) Wipe() {
	clear(s.Seed)
	for _, row := range s.QR {
		clear(row)
	}
}

// Open reads the plaintext of the outfile named outfile: a QR code PNG or
// a Base32 seed, exactly as the AWS CLI's --outfile writes them. The
// caller keeps plaintext and wipes it, and wipes the Secret.
func Open(plaintext []byte, outfile string) (*Secret, error) {
	if !bytes.HasPrefix(plaintext, pngMagic) {
		seed := bytes.Clone(bytes.TrimSpace(plaintext))
		if !isBase32(seed) {
			clear(seed)
			return nil, errors.New("the outfile holds neither a QR code PNG nor a Base32 seed")
		}
		return &Secret{Seed: seed, Name: nameFromFile(outfile), NameFromFile: true}, nil
	}
	grid, err := qrterm.Decode(plaintext)
	if err != nil {
		return nil, errQR
	}
	s := &Secret{QR: grid}
	text, err := readQR(grid)
	if err != nil {
		s.Wipe()
		return nil, err
	}
	defer clear(text)
	seed, label, err := parseURI(text)
	if err != nil {
		s.Wipe()
		return nil, err
	}
	s.Seed = seed
	s.Name, s.Account = splitLabel(label)
	if s.Name == "" {
		s.Name, s.NameFromFile = nameFromFile(outfile), true
	}
	return s, nil
}

// parseURI reads an otpauth://totp/LABEL?…secret=SEED… URI, keeping the
// seed in a byte slice of its own (never a string, which cannot be
// wiped). Its errors never quote the URI.
func parseURI(text []byte) (seed []byte, label string, err error) {
	const scheme = "otpauth://totp/"
	if len(text) < len(scheme) || !strings.EqualFold(string(text[:len(scheme)]), scheme) {
		return nil, "", errors.New("the QR code is not an otpauth://totp/ URI")
	}
	rest := text[len(scheme):]
	rawLabel, query, _ := bytes.Cut(rest, []byte("?"))
	label, err = url.PathUnescape(string(rawLabel))
	if err != nil {
		return nil, "", errors.New("the QR code's otpauth:// label is not well formed")
	}
	for param := range bytes.SplitSeq(query, []byte("&")) {
		k, v, _ := bytes.Cut(param, []byte("="))
		if string(k) != "secret" {
			continue
		}
		if seed != nil || !isBase32(v) {
			clear(seed)
			return nil, "", errors.New("the QR code's otpauth:// URI has no single well-formed secret")
		}
		seed = bytes.Clone(v)
	}
	if seed == nil {
		return nil, "", errors.New("the QR code's otpauth:// URI has no secret")
	}
	return seed, label, nil
}

// splitLabel reads "ISSUER:NAME@ACCOUNT" (or without the issuer). IAM
// names may hold "@" but no ":", so the account follows the last "@" and
// the name the last ":".
func splitLabel(label string) (name, account string) {
	if i := strings.LastIndex(label, ":"); i >= 0 {
		label = label[i+1:]
	}
	label = strings.TrimSpace(label)
	if i := strings.LastIndex(label, "@"); i >= 0 && isDigits(label[i+1:]) {
		return label[:i], label[i+1:]
	}
	return label, ""
}

// nameFromFile undoes the default outfile template, "{{.Name}}{{.Ext}}.age".
func nameFromFile(outfile string) string {
	name := strings.TrimSuffix(filepath.Base(outfile), ".age")
	for _, ext := range []string{".txt", ".png"} {
		name = strings.TrimSuffix(name, ext)
	}
	return name
}

func isBase32(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '2' && c <= '7', c == '=':
		default:
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
