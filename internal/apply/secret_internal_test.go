package apply

import (
	"strings"
	"testing"

	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
)

// checkSecret re-seals a secret only when it is the one the record was
// made for; a record without the binding only in the folder.
func TestCheckSecret(t *testing.T) {
	_, proof := journal.NewCreateID()
	mine, theirs := []byte("JBSWY3DPEHPK3PXP"), []byte("KRSXG5CTMVRXEZLU")
	folder := &manifest.Device{Name: "alice"}
	s3 := &manifest.Device{Name: "alice", Store: manifest.Store{URL: "s3://b/p/", Bucket: "b", Prefix: "p/"}}
	for _, c := range []struct {
		name   string
		d      *manifest.Device
		mac    string
		secret []byte
		want   string // "" accepted, else part of the refusal
	}{
		{"bound, folder", folder, journal.SecretMAC(proof, mine), mine, ""},
		{"bound, s3", s3, journal.SecretMAC(proof, mine), mine, ""},
		{"another's secret, folder", folder, journal.SecretMAC(proof, mine), theirs, "is not the one its record was made for"},
		{"another's secret, s3", s3, journal.SecretMAC(proof, mine), theirs, "is not the one its record was made for"},
		{"unbound, folder", folder, "", theirs, ""},
		{"unbound, s3", s3, "", mine, "apply --replace alice"},
	} {
		err := checkSecret(plan.Change{Name: "alice", Desired: c.d, Proof: proof, SecretMAC: c.mac}, c.secret)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want a refusal saying %q", c.name, err, c.want)
		}
	}
}
