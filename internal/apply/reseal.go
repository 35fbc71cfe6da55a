package apply

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mfabulk/mfabulk/internal/failpoint"
	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/seal"
	"github.com/mfabulk/mfabulk/internal/store"
)

// ErrNoIdentity is the outcome of a re-seal when apply was given no
// identity to decrypt outfiles with (apply -i): the re-seal is left
// pending, for a run that has one. A nightly run has none, and a pending
// re-seal is no failure of its.
var ErrNoIdentity = errors.New("left pending: no identity was given to decrypt its outfile (apply -i FILE)")

// reseal re-encrypts a device's outfile to the manifest's recipients:
// under the device's intent, the outfile the plan proved is read,
// decrypted in memory with the operator's identities, sealed to the
// recipients, and put in its place only while it is still those bytes;
// then its record is replaced. The device and its secret stay. A run
// killed between the two leaves the intent (action reseal, naming the
// new recipients), which the next plan settles by writing the record.
func (r *runner) reseal(ctx context.Context, j job) Outcome {
	c := j.change
	o := Outcome{Device: c.Name, Action: c.Action, Outfile: c.Desired.Outfile, Serial: c.Existing.Serial}
	if len(c.Tags) > 0 {
		if t := r.updateTags(ctx, c); t.Err != nil {
			return t
		}
	}
	if len(r.identities) == 0 {
		o.Err, o.NotAttempted = fmt.Errorf("re-sealing device %q: %w", c.Name, ErrNoIdentity), true
		return o
	}
	sealedTo := plan.Recipients(j.recipients)
	in := journal.Intent{
		Device: c.Name, Path: c.Path, Account: r.plan.Account, Outfile: c.Desired.Outfile,
		Action: string(plan.Reseal), CreateID: c.CreateID, Proof: c.Proof, Recipients: sealedTo,
		Started: time.Now().UTC(), PID: os.Getpid(),
	}
	held, err := j.files.Begin(ctx, in, store.Seen(c.Intent))
	if err != nil {
		o.Err = fmt.Errorf("recording the intent of device %q: %w", c.Name, err)
		return o
	}
	failpoint.Hit(failpoint.ResealBegun)
	old, err := held.ReadOutfile(ctx)
	if err == nil && sha256Hex(old) != c.OutfileSHA256 {
		err = errors.New("it changed since plan (another run or a person wrote it); run plan again")
	}
	if err != nil {
		o.Err = fmt.Errorf("re-sealing device %q: %w", c.Name, err)
		return r.settle(ctx, o, held) // nothing was changed
	}
	ct, err := r.reencrypt(old, j.recipients)
	if err != nil {
		o.Err = fmt.Errorf("re-sealing device %q: %w; its outfile is unchanged", c.Name, err)
		return r.settle(ctx, o, held)
	}
	sum, err := held.ReplaceOutfile(context.WithoutCancel(ctx), ct, c.OutfileSHA256)
	if err != nil {
		o.Err = fmt.Errorf("re-sealing device %q: %w", c.Name, err)
		// The old outfile may or may not have been replaced (an S3
		// answer lost): the intent tells the next plan to look.
		return r.keep(ctx, o, held)
	}
	o.CiphertextSHA256, o.Recipients = sum, j.recipients.Fingerprints
	failpoint.Hit(failpoint.ResealReplaced)
	rec := journal.Record{Account: r.plan.Account, Device: c.Name, Path: c.Path, Serial: c.Existing.Serial,
		CreateID: c.CreateID, Proof: c.Proof, OutfileSHA256: sum, Created: time.Now().UTC(), Recipients: sealedTo}
	if err := held.WriteRecord(context.WithoutCancel(ctx), rec); err != nil {
		o.Err = fmt.Errorf("recording the re-sealed outfile of device %q: %w", c.Name, err)
		return r.keep(ctx, o, held)
	}
	return r.settle(ctx, o, held)
}

// reencrypt opens ciphertext with the operator's identities and seals its
// plaintext to recipients, in memory; the plaintext is wiped before it
// returns. Decryption is one at a time: an identity protected by a
// passphrase asks for it on the terminal once, not once per device.
func (r *runner) reencrypt(ciphertext []byte, recipients seal.Recipients) ([]byte, error) {
	r.decrypting.Lock()
	secret, err := seal.Decrypt(ciphertext, r.identities)
	r.decrypting.Unlock()
	defer clear(secret)
	if err != nil {
		return nil, fmt.Errorf("none of the identities given with -i can decrypt its outfile: %w", err)
	}
	return seal.Encrypt(secret, recipients.Keys)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
