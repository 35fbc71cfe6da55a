package seal

import (
	"bytes"
	"fmt"
	"os"

	"filippo.io/age"
	"filippo.io/age/agessh"
)

// ReadIdentities reads an identity file as age's -i does: either an age
// identity file (AGE-SECRET-KEY-1… lines) or an unencrypted SSH private key.
func ReadIdentities(path string) ([]age.Identity, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if bytes.Contains(b, []byte("PRIVATE KEY-----")) {
		id, err := agessh.ParseIdentity(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return []age.Identity{id}, nil
	}
	ids, err := age.ParseIdentities(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ids, nil
}
