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
// then its record is replaced. The device and its secret stay; the secret
// is re-sealed only when it is the one the record was made for
// (checkSecret). Before the new outfile is put, the intent (action
// reseal, naming the new recipients) names its SHA-256: a run killed
// after that leaves an intent the next plan settles by writing the record
// when the outfile is that one, and clears when it is the recorded one.
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
		SecretMAC: c.SecretMAC, Started: time.Now().UTC(), PID: os.Getpid(),
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
	ct, mac, err := r.reencrypt(old, c, j.recipients)
	if err != nil {
		o.Err = fmt.Errorf("re-sealing device %q: %w; its outfile is unchanged", c.Name, err)
		return r.settle(ctx, o, held)
	}
	// The intent names the new ciphertext before it is put: a run killed
	// from here leaves an outfile the next plan records only when it is
	// that one, and leaves as it is when it is the recorded one.
	in.NewOutfileSHA256, in.SecretMAC = sha256Hex(ct), mac
	if err := held.Rewrite(context.WithoutCancel(ctx), in); err != nil {
		o.Err = fmt.Errorf("re-sealing device %q: recording the new outfile in its intent: %w; its outfile is unchanged", c.Name, err)
		return r.keep(ctx, o, held)
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
		CreateID: c.CreateID, Proof: c.Proof, OutfileSHA256: sum, Created: time.Now().UTC(), Recipients: sealedTo, SecretMAC: mac}
	if err := held.WriteRecord(context.WithoutCancel(ctx), rec); err != nil {
		o.Err = fmt.Errorf("recording the re-sealed outfile of device %q: %w", c.Name, err)
		return r.keep(ctx, o, held)
	}
	return r.settle(ctx, o, held)
}

// reencrypt opens ciphertext with the operator's identities, checks that
// the secret in it is the one the device's record was made for, and seals
// it to recipients, in memory; the plaintext is wiped before it returns.
// It returns the new ciphertext and the record's binding to the secret
// (journal.SecretMAC). Decryption is one at a time: an identity protected
// by a passphrase asks for it on the terminal once, not once per device.
func (r *runner) reencrypt(ciphertext []byte, c plan.Change, recipients seal.Recipients) ([]byte, string, error) {
	r.decrypting.Lock()
	secret, err := seal.Decrypt(ciphertext, r.identities)
	r.decrypting.Unlock()
	defer clear(secret)
	if err != nil {
		return nil, "", fmt.Errorf("none of the identities given with -i can decrypt its outfile: %w", err)
	}
	if err := checkSecret(c, secret); err != nil {
		return nil, "", err
	}
	ct, err := seal.Encrypt(secret, recipients.Keys)
	return ct, journal.SecretMAC(c.Proof, secret), err
}

// checkSecret refuses to re-seal a secret that is not the device's. The
// record's proof and its binding to the outfile's bytes do not prove it:
// whoever can read the record knows the proof, and in an S3 store may
// have copied another device's outfile to this one's name, with a record
// bound to the copy. Its SecretMAC, which only a run that held the secret
// could compute, does. A record without one (an older mfabulk's, or one a
// run settled without the secret in memory) is trusted only in the
// folder, whose ownership and permission checks keep other principals
// from writing it; in S3 the device is to be replaced instead.
func checkSecret(c plan.Change, secret []byte) error {
	switch {
	case c.SecretMAC != "" && !journal.SecretMatches(c.Proof, c.SecretMAC, secret):
		return errors.New("the outfile's secret is not the one its record was made for: another device's outfile was put at its name, or the record was forged; it is left as it is")
	case c.SecretMAC == "" && (c.Desired == nil || !c.Desired.Store.IsFolder()):
		return fmt.Errorf("its record does not bind the secret it was made for (an older mfabulk wrote it, or a run recorded it without the secret), and in an S3 store whoever can write the prefix may have put another device's outfile at its name; it is left as it is: to seal a new secret to the manifest's recipients, replace the device (apply --replace %s)", c.Name)
	}
	return nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
