package journal

import "testing"

// A record's SecretMAC holds only for the secret it was made for, under
// its own proof: a principal who knows the proof and copies another
// device's outfile to this one's name does not get past it.
func TestSecretMAC(t *testing.T) {
	_, proof := NewCreateID()
	_, other := NewCreateID()
	mine, theirs := []byte("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"), []byte("KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU")
	mac := SecretMAC(proof, mine)
	if !SecretMatches(proof, mac, mine) {
		t.Fatal("SecretMatches refuses the secret its MAC was made for")
	}
	for name, c := range map[string]struct {
		proof, mac string
		secret     []byte
	}{
		"another secret":  {proof, mac, theirs},
		"another proof":   {other, mac, mine},
		"no MAC":          {proof, "", mine},
		"no proof":        {"", SecretMAC("", mine), mine},
		"the outfile MAC": {proof, SecretMAC(proof, nil), mine},
		"a truncated MAC": {proof, mac[:32], mine},
	} {
		if SecretMatches(c.proof, c.mac, c.secret) {
			t.Errorf("%s: SecretMatches accepts it", name)
		}
	}
}
