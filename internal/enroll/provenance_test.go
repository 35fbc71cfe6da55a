package enroll

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mfabulk/mfabulk/internal/atomicfile"
	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/journal"
)

// tagsOf is a fake IAM: each serial's tags, or err for every read.
type tagsOf struct {
	tags map[string]map[string]string
	err  error
}

func (f tagsOf) ListTags(_ context.Context, serial string) (map[string]string, error) {
	if f.err != nil {
		return nil, f.err
	}
	return f.tags[serial], nil
}

const (
	aliceSerial = "arn:aws:iam::123456789012:mfa/alice"
	carolSerial = "arn:aws:iam::123456789012:mfa/carol"
)

var errDenied = errors.New("AccessDenied: not authorized to perform iam:ListMFADeviceTags")

func denied(err error) string {
	if errors.Is(err, errDenied) {
		return "its tags could not be read: access denied"
	}
	return ""
}

// madeByApply writes an outfile and the record apply writes beside it,
// and returns the outfile's path and the device's create ID.
func madeByApply(t *testing.T, folder, name, serial string) (string, string) {
	t.Helper()
	dir, err := atomicfile.OpenDir(folder, ".", true)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	out := filepath.Join(folder, name)
	if err := os.WriteFile(out, []byte("age-encryption.org/v1 of "+name), 0o600); err != nil {
		t.Fatal(err)
	}
	id, proof := journal.NewCreateID()
	sum, err := journal.OutfileSHA256(dir, name)
	if err != nil || sum == "" {
		t.Fatalf("outfile hash: %q, %v", sum, err)
	}
	rec := journal.Record{Account: "123456789012", Device: strings.TrimSuffix(name, ".png.age"), Path: "/", Serial: serial, CreateID: id, Proof: proof, OutfileSHA256: sum}
	if err := journal.WriteRecord(dir, name, rec); err != nil {
		t.Fatal(err)
	}
	return out, id
}

func TestCheckProvenance(t *testing.T) {
	folder := t.TempDir()
	alice, aliceID := madeByApply(t, folder, "alice.png.age", aliceSerial)
	mfabulks := tagsOf{tags: map[string]map[string]string{aliceSerial: {device.CreateIDTag: aliceID, "team": "x"}}}

	// An insider's device, its QR code sealed to the victim: no record, no tag.
	carol := filepath.Join(folder, "carol.png.age")
	os.WriteFile(carol, []byte("age-encryption.org/v1 of carol"), 0o600)
	insider := tagsOf{tags: map[string]map[string]string{carolSerial: {}}}

	// A record copied from alice's outfile beside the insider's.
	copied := t.TempDir()
	os.WriteFile(filepath.Join(copied, "carol.png.age"), []byte("age-encryption.org/v1 of carol"), 0o600)
	data, _ := os.ReadFile(filepath.Join(folder, journal.RecordName("alice.png.age")))
	os.WriteFile(filepath.Join(copied, journal.RecordName("carol.png.age")), data, 0o600)
	copiedCarol := filepath.Join(copied, "carol.png.age")

	// A record that is a link to alice's: never followed.
	linked := t.TempDir()
	os.WriteFile(filepath.Join(linked, "alice.png.age"), []byte("age-encryption.org/v1 of alice.png.age"), 0o600)
	os.Symlink(filepath.Join(folder, journal.RecordName("alice.png.age")), filepath.Join(linked, journal.RecordName("alice.png.age")))

	cases := []struct {
		name    string
		api     tagsOf
		outfile string
		serial  string
		want    []string // a substring of each problem, in order
	}{
		{"made by apply", mfabulks, alice, aliceSerial, nil},
		{"insider: no record, no tag", insider, carol, carolSerial, []string{"there is no record beside the outfile (.carol.png.age.id)", "carries no mfabulk:create-id tag: mfabulk did not make it"}},
		{"insider copied a tag", tagsOf{tags: map[string]map[string]string{carolSerial: {device.CreateIDTag: aliceID}}}, carol, carolSerial, []string{"there is no record", "but nothing here proves it"}},
		{"record copied from another outfile", tagsOf{tags: map[string]map[string]string{aliceSerial: {device.CreateIDTag: aliceID}}}, copiedCarol, aliceSerial, []string{"is not bound to this outfile", "nothing here proves it"}},
		{"record names another device", insider, alice, carolSerial, []string{"names device " + aliceSerial + ", not " + carolSerial, "carries no mfabulk:create-id tag"}},
		{"tag is not the record's", tagsOf{tags: map[string]map[string]string{aliceSerial: {device.CreateIDTag: "0123"}}}, alice, aliceSerial, []string{"tag is not the record's create ID"}},
		{"record is a link", mfabulks, filepath.Join(linked, "alice.png.age"), aliceSerial, []string{"there is no record", "nothing here proves it"}},
		{"tags denied", tagsOf{err: errDenied}, alice, aliceSerial, []string{"its tags could not be read: access denied"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := CheckProvenance(context.Background(), c.api, RecordBeside(c.outfile), c.serial, denied)
			if err != nil {
				t.Fatal(err)
			}
			if p.Proven != (c.want == nil) || len(p.Problems) != len(c.want) {
				t.Fatalf("proven %v, problems:\n%s", p.Proven, strings.Join(p.Problems, "\n"))
			}
			for i, w := range c.want {
				if !strings.Contains(p.Problems[i], w) {
					t.Errorf("problem %d is %q, want it to say %q", i, p.Problems[i], w)
				}
			}
		})
	}

	// Any other error of ListTags ends enroll.
	other := errors.New("ServiceFailure")
	if _, err := CheckProvenance(context.Background(), tagsOf{err: other}, RecordBeside(alice), aliceSerial, denied); !errors.Is(err, other) {
		t.Errorf("ListTags failing: %v, want it returned", err)
	}
}

// A record read from an S3 store with its outfile's bytes proves the
// device only when it is bound to those bytes.
func TestRecordOf(t *testing.T) {
	ct := []byte("age-encryption.org/v1 of alice")
	id, proof := journal.NewCreateID()
	sum := sha256.Sum256(ct)
	rec := &journal.Record{Serial: aliceSerial, CreateID: id, Proof: proof, OutfileSHA256: hex.EncodeToString(sum[:])}
	api := tagsOf{tags: map[string]map[string]string{aliceSerial: {device.CreateIDTag: id}}}
	const url = "s3://b/p/out/.alice.png.age.id"
	for _, c := range []struct {
		name   string
		b      Beside
		proven bool
		want   string
	}{
		{"bound", RecordOf(url, rec, ct), true, ""},
		{"other bytes", RecordOf(url, rec, []byte("another outfile")), false, "is not bound to this outfile"},
		{"no record", RecordOf(url, nil, ct), false, "there is no record beside the outfile (" + url + "), or none enroll can trust (a well-formed record object)"},
	} {
		p, err := CheckProvenance(context.Background(), api, c.b, aliceSerial, denied)
		if err != nil || p.Proven != c.proven || c.want != "" && !strings.Contains(strings.Join(p.Problems, "\n"), c.want) {
			t.Errorf("%s: %+v, %v; want proven %v, saying %q", c.name, p, err, c.proven, c.want)
		}
	}
}

// TestOutdatedAndGone: a record bound to the outfile that names the
// device proves which device the outfile was made for; a device there now
// with another create ID was made again since (Outdated). A record not
// bound to the outfile proves nothing of the kind. A device IAM does not
// have is Gone.
func TestOutdatedAndGone(t *testing.T) {
	folder := t.TempDir()
	alice, _ := madeByApply(t, folder, "alice.png.age", aliceSerial)
	remade := tagsOf{tags: map[string]map[string]string{aliceSerial: {device.CreateIDTag: "0123"}}}
	p, err := CheckProvenance(context.Background(), remade, RecordBeside(alice), aliceSerial, denied)
	if err != nil || !p.Outdated || p.Proven || p.Gone {
		t.Errorf("device made again: %+v, %v; want Outdated", p, err)
	}

	copied := t.TempDir()
	os.WriteFile(filepath.Join(copied, "carol.png.age"), []byte("age-encryption.org/v1 of carol"), 0o600)
	data, _ := os.ReadFile(filepath.Join(folder, journal.RecordName("alice.png.age")))
	os.WriteFile(filepath.Join(copied, journal.RecordName("carol.png.age")), data, 0o600)
	p, err = CheckProvenance(context.Background(), remade, RecordBeside(filepath.Join(copied, "carol.png.age")), aliceSerial, denied)
	if err != nil || p.Outdated {
		t.Errorf("a record not bound to the outfile: %+v, %v; want it not Outdated", p, err)
	}

	gone := tagsOf{err: &device.APIError{Code: "NoSuchEntity", Refused: true, Err: errors.New("NoSuchEntity")}}
	p, err = CheckProvenance(context.Background(), gone, RecordBeside(alice), aliceSerial, denied)
	if err != nil || !p.Gone || p.Proven || !strings.Contains(strings.Join(p.Problems, "\n"), "there is no device "+aliceSerial) {
		t.Errorf("no such device: %+v, %v; want Gone", p, err)
	}
}
