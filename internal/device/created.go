package device

import "time"

// Created is what IAM returns, once, when it creates a virtual MFA device:
// its serial number and its secret in both bootstrap forms. Callers must
// not log it, and call [Created.Wipe] once the secret is sealed.
type Created struct {
	Serial           string
	Base32StringSeed []byte
	QRCodePNG        []byte
	// ServerTime is IAM's clock when it answered (the answer's Date
	// header), zero when unknown; Answered is the local clock then. Their
	// difference is how far the local clock is off, which codes for
	// EnableMFADevice must not depend on.
	ServerTime time.Time
	Answered   time.Time
}

// Now is the current time by IAM's clock, as far as the create's answer
// tells it: the local clock corrected by the offset seen then (a
// monotonic reading, so a clock stepped since does not matter).
func (c *Created) Now() time.Time {
	if c.ServerTime.IsZero() || c.Answered.IsZero() {
		return time.Now()
	}
	return c.ServerTime.Add(time.Since(c.Answered))
}

// Secret returns the secret in the form a bootstrap method asks for: the
// Base32 seed text for [Base32StringSeed], the QR code PNG otherwise.
func (c *Created) Secret(bootstrap string) []byte {
	if bootstrap == Base32StringSeed {
		return c.Base32StringSeed
	}
	return c.QRCodePNG
}

// Wipe overwrites the secret in memory once it has been sealed.
func (c *Created) Wipe() {
	clear(c.Base32StringSeed)
	clear(c.QRCodePNG)
}
