package seal

import (
	"bytes"
	"fmt"

	"filippo.io/age"
	"filippo.io/age/agessh"

	"github.com/mfabulk/mfabulk/internal/inputfile"
)

// MaxIdentitySize bounds an identity file: a few keys are a few KB.
const MaxIdentitySize = 1 << 20

// ReadIdentities reads an identity file as age's -i does: either an age
// identity file (AGE-SECRET-KEY-1… lines) or an unencrypted SSH private key.
// A FIFO, a device such as /dev/zero, or a file over MaxIdentitySize is
// refused rather than read forever.
func ReadIdentities(path string) ([]age.Identity, error) {
	b, err := inputfile.Read(path, MaxIdentitySize)
	if err != nil {
		return nil, err
	}
	defer clear(b) // it holds private keys
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
