// Package totp computes and checks RFC 6238 time-based one-time passwords
// as AWS virtual MFA devices use them: HMAC-SHA1, 30-second steps, 6
// digits, from the Base32 seed that IAM issues (Base32StringSeed, whose
// otpauth:// URI names no algorithm, period or digits, so authenticators
// use these defaults).
//
// mfabulk needs it twice: to enable a device for its user, EnableMFADevice
// wants two consecutive codes, and to check, before that call, the codes a
// person types when enrolling. The seed is a secret: nothing here logs or
// formats a seed or a code, errors never quote them, and the decoded key
// bytes are wiped once used.
package totp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"time"
)

const (
	// Step is the time step: one code per 30 seconds since the Unix epoch.
	Step = 30 * time.Second
	// Digits is the length of a code.
	Digits = 6
)

var (
	// ErrSeed reports a seed that is not Base32 text; the seed itself is
	// never quoted.
	ErrSeed = errors.New("totp: seed is not a Base32 string")
	// ErrTime reports a time whose code, or the code of the step before
	// it for [Pair], would be from before the Unix epoch, where steps
	// start.
	ErrTime = errors.New("totp: time is before the Unix epoch, where steps start")
)

// Counter is the step number of t: whole 30-second steps since the Unix
// epoch (RFC 6238's T). It is negative before the epoch.
func Counter(t time.Time) int64 {
	u := t.Unix()
	n := u / int64(Step/time.Second)
	if u < 0 && u%int64(Step/time.Second) != 0 {
		n-- // floor, not truncation toward zero
	}
	return n
}

// Code returns the code for the step that contains t.
func Code(seed []byte, t time.Time) (string, error) {
	c := Counter(t)
	if c < 0 {
		return "", ErrTime
	}
	key, err := decode(seed)
	if err != nil {
		return "", err
	}
	defer wipe(key)
	return hotp(key, uint64(c)), nil
}

// Pair returns the codes for the step before t's step and for t's step:
// the two consecutive codes EnableMFADevice asks for, as a person reading
// an authenticator app over 30 seconds would type them (terraform-provider-
// aws's acceptance tests compute them the same way, from now-30s and now).
func Pair(seed []byte, t time.Time) (first, second string, err error) {
	c := Counter(t)
	if c < 1 {
		return "", "", ErrTime
	}
	key, err := decode(seed)
	if err != nil {
		return "", "", err
	}
	defer wipe(key)
	return hotp(key, uint64(c-1)), hotp(key, uint64(c)), nil
}

// Verify reports whether first and second are the codes of two consecutive
// steps, second's step lying within window steps (either side) of t's
// step; [Pair] at t verifies with window 0. A window of 1 or 2 absorbs
// clock skew and a person's typing time without accepting stale codes. A
// malformed seed verifies nothing.
func Verify(seed []byte, first, second string, t time.Time, window int) bool {
	_, ok := Match(seed, first, second, t, window)
	return ok
}

// Match is [Verify] that also returns the step of second, so that a
// verifier can refuse codes it has already accepted (IAM does: the same
// two codes cannot enable a device twice).
//
// Every candidate step is computed and compared in constant time, so the
// time Match takes does not tell which code, or which step, was close.
func Match(seed []byte, first, second string, t time.Time, window int) (step int64, ok bool) {
	if !wellFormed(first) || !wellFormed(second) {
		return 0, false
	}
	window = max(window, 0)
	key, err := decode(seed)
	if err != nil {
		return 0, false
	}
	defer wipe(key)
	now := Counter(t)
	found := 0
	for c := now - int64(window); c <= now+int64(window); c++ {
		if c < 1 {
			continue
		}
		a := subtle.ConstantTimeCompare([]byte(hotp(key, uint64(c-1))), []byte(first))
		b := subtle.ConstantTimeCompare([]byte(hotp(key, uint64(c))), []byte(second))
		hit := a & b
		// Two windows' steps cannot both match but for a 1-in-10^12
		// collision; keep the first, without branching on the codes.
		take := hit & (found ^ 1)
		step = int64(subtle.ConstantTimeSelect(take, int(c), int(step)))
		found |= hit
	}
	if found == 0 {
		return 0, false
	}
	return step, true
}

// wellFormed reports whether code is Digits ASCII digits; only the form is
// checked, and the length is not secret.
func wellFormed(code string) bool {
	if len(code) != Digits {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// decode reads a Base32 seed as IAM issues it (upper case, no padding),
// also accepting lower case, '=' padding and line breaks (a seed read from
// a file ends with one), as authenticator apps do. The caller wipes the
// key. The upper-cased copy is wiped here.
func decode(seed []byte) ([]byte, error) {
	up := bytes.ToUpper(seed)
	defer wipe(up)
	trimmed := bytes.TrimRight(up, "=\r\n") // the decoder skips \r and \n elsewhere
	if len(trimmed) == 0 {
		return nil, ErrSeed
	}
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	key := make([]byte, enc.DecodedLen(len(trimmed)))
	n, err := enc.Decode(key, trimmed)
	if err != nil || n == 0 {
		wipe(key)
		return nil, ErrSeed
	}
	return key[:n], nil
}

// hotp is RFC 4226's HOTP with HMAC-SHA1 and dynamic truncation to Digits
// digits. The MAC is wiped; crypto/hmac's own copy of the key (its inner
// and outer pads) is out of reach and left to the garbage collector.
func hotp(key []byte, counter uint64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac := hmac.New(sha1.New, key)
	mac.Write(msg[:])
	var sum [sha1.Size]byte
	mac.Sum(sum[:0])
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	wipe(sum[:])
	var out [Digits]byte
	for i := Digits - 1; i >= 0; i-- {
		out[i] = byte('0' + bin%10)
		bin /= 10
	}
	return string(out[:])
}

func wipe(b []byte) {
	clear(b)
}
