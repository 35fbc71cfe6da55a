package device

// Created is what IAM returns, once, when it creates a virtual MFA device:
// its serial number and its secret in both bootstrap forms. Callers must
// not log it, and call [Created.Wipe] once the secret is sealed.
type Created struct {
	Serial           string
	Base32StringSeed []byte
	QRCodePNG        []byte
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
