package plan

import (
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/seal"
)

// The record of a device sealed to the most recipients a manifest allows,
// each an SSH key whose comment JSON writes at its longest, still fits in
// what is read back of a record, with room for its other fields (a
// record too large to read leaves its outfile unproven, never re-sealed).
func TestRecordOfTheMostRecipientsIsReadable(t *testing.T) {
	comment := strings.Repeat("\x1b<", 35000)
	keys := make([]string, seal.MaxRecipients)
	for i := range keys {
		pub, _, _ := ed25519.GenerateKey(nil)
		k, _ := ssh.NewPublicKey(pub)
		keys[i] = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) + " " + comment
	}
	rs, err := seal.ParseRecipients(keys)
	if err != nil {
		t.Fatal(err)
	}
	rec := journal.Record{Account: "123456789012", Device: "d", Path: "/p/", Serial: "arn:aws:iam::123456789012:mfa/p/d",
		CreateID: strings.Repeat("c", 64), Proof: strings.Repeat("p", 64), OutfileSHA256: strings.Repeat("s", 64), Recipients: Recipients(rs)}
	b, _ := json.Marshal(rec)
	if room := journal.MaxIntentSize - 8<<10; len(b) > room {
		t.Errorf("the record is %d bytes, want at most %d (MaxIntentSize less room for its paths)", len(b), room)
	}
}
