package enroll

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"path/filepath"

	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/store/folder"
)

// TagReader is what [CheckProvenance] needs of IAM: a device's tags.
type TagReader interface {
	ListTags(ctx context.Context, serial string) (map[string]string, error)
}

// TagsUnreadable tells an error of ListMFADeviceTags that leaves the tag
// unknown (access denied, an endpoint without tags) from one that ends
// enroll: it returns what to tell the person, or "" for the latter. The
// caller knows the IAM client's error codes; this package does not.
type TagsUnreadable func(error) string

// Provenance is what enroll can tell of who made the device it is about
// to enable. Anyone allowed iam:CreateVirtualMFADevice can make a device,
// seal its QR code to a person and keep the seed; enabling such a device
// hands them a second factor of that person's. mfabulk's own devices carry
// evidence: the mfabulk:create-id tag, and the record apply writes beside
// the outfile with the tag's proof, bound to the outfile's bytes.
type Provenance struct {
	// Proven is true when the device carries the create-ID tag and the
	// record beside the outfile proves it, for this outfile and device.
	Proven bool
	// Problems say, one line each, what is missing when not Proven. They
	// quote values from outside (serials, file names): a view escapes them.
	Problems []string
	// Outdated is true when the record beside the outfile, proven and
	// bound to its bytes, names this device, but the device carries
	// another create ID: it was made again (replaced) since the outfile
	// was sealed, so the outfile's secret is not the device's.
	Outdated bool
	// Gone is true when IAM has no device of this serial.
	Gone bool
}

// Beside is the record apply wrote beside an outfile, as read from where
// the outfile is: a folder ([RecordBeside]) or an S3 store ([RecordOf]).
type Beside struct {
	// Name is the record's name for people: .OUTFILE.id, or its URL.
	Name string
	// Record is nil when there is none, or none to trust; Proven when it
	// proves its create ID and is bound to the outfile's bytes.
	Record *journal.Record
	Proven bool
	// Err: the record could not be checked.
	Err error
	// trust says what a record must be to be read, for the message when
	// there is none.
	trust string
}

// RecordBeside reads the record beside a local outfile as plan reads one
// (journal.ReadRecord: a regular file of the caller's, one link, never
// followed through a link, read bounded, in a folder only the caller can
// change; folder.RecordBeside).
func RecordBeside(outfile string) Beside {
	rec, proven, err := folder.RecordBeside(outfile)
	return Beside{Name: journal.RecordName(filepath.Base(outfile)), Record: rec, Proven: proven, Err: err,
		trust: "a regular file of yours, in a folder only you can change"}
}

// RecordOf is the record read with an outfile's bytes from an S3 store
// (name is its URL; rec nil for none or none well formed): proven, as the
// store's plan proves one, when it proves its create ID and its SHA-256
// is the ciphertext's.
func RecordOf(name string, rec *journal.Record, ciphertext []byte) Beside {
	b := Beside{Name: name, Record: rec, trust: "a well-formed record object"}
	if rec != nil && journal.Proves(rec.Proof, rec.CreateID) && rec.OutfileSHA256 != "" {
		sum := sha256.Sum256(ciphertext)
		b.Proven = subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(rec.OutfileSHA256)) == 1
	}
	return b
}

// CheckProvenance checks the device serial that the outfile's secret is
// to enable: (a) the record beside the outfile (b) exists and can be
// trusted, proves its create ID and is bound to this outfile's bytes
// (journal.Record.Proves, as plan checks it), and names this device; and
// (b) the device in IAM carries the mfabulk:create-id tag, and its value
// is the record's create ID. An error of ListTags that unreadable does
// not explain is returned.
func CheckProvenance(ctx context.Context, api TagReader, b Beside, serial string, unreadable TagsUnreadable) (Provenance, error) {
	var p Provenance
	recName := b.Name
	rec, proven := b.Record, b.Proven
	switch {
	case b.Err != nil:
		p.Problems = append(p.Problems, fmt.Sprintf("the record beside the outfile (%s) could not be checked: %v", recName, b.Err))
	case rec == nil:
		p.Problems = append(p.Problems, fmt.Sprintf("there is no record beside the outfile (%s), or none enroll can trust (%s): mfabulk apply writes one", recName, b.trust))
	case rec.Proof == "":
		p.Problems = append(p.Problems, fmt.Sprintf("the record beside the outfile (%s) carries no proof of its create ID (an older mfabulk wrote it, or it was made from the device's tag)", recName))
	case !proven:
		p.Problems = append(p.Problems, fmt.Sprintf("the record beside the outfile (%s) does not prove its create ID, or is not bound to this outfile (copied from another outfile, or the outfile was changed)", recName))
	}
	if rec != nil && rec.Serial != serial {
		p.Problems = append(p.Problems, fmt.Sprintf("the record beside the outfile (%s) names device %s, not %s", recName, rec.Serial, serial))
	}

	tags, err := api.ListTags(ctx, serial)
	if device.ErrorCode(err) == "NoSuchEntity" {
		p.Gone = true
		p.Problems = append(p.Problems, fmt.Sprintf("there is no device %s in the account", serial))
		return p, nil
	}
	if err != nil {
		why := ""
		if unreadable != nil {
			why = unreadable(err)
		}
		if why == "" {
			return Provenance{}, err
		}
		p.Problems = append(p.Problems, why)
		return p, nil
	}
	live, tagged := tags[device.CreateIDTag]
	switch {
	case !tagged || live == "":
		p.Problems = append(p.Problems, fmt.Sprintf("the device carries no %s tag: mfabulk did not make it", device.CreateIDTag))
	case rec != nil && live != rec.CreateID:
		p.Problems = append(p.Problems, fmt.Sprintf("the device's %s tag is not the record's create ID: the record is another device's, or the device was made again since", device.CreateIDTag))
		// A record bound to this outfile that names this very device
		// proves which device the outfile's secret was made for: not
		// the one there now.
		p.Outdated = proven && rec.Serial == serial
	case rec == nil || !proven:
		p.Problems = append(p.Problems, fmt.Sprintf("the device carries a %s tag, but nothing here proves it (a tag is public: anyone can copy it)", device.CreateIDTag))
	}
	p.Proven = len(p.Problems) == 0
	return p, nil
}
