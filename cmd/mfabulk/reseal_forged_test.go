package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/journal"
)

// TestResealRefusesAnotherDevicesSecret: a principal who can read and
// write the S3 prefix reads device X's record (its proof is in it),
// copies device A's outfile to X's key, stamped with the metadata X's
// proof computes, and writes X's record bound to the copy, with
// recipients unlike the manifest's. Plan proposes to re-seal X; the
// operator's apply -i must not decrypt A's secret and seal it to X's
// recipients: the record's proof does not make the secret X's.
func TestResealRefusesAnotherDevicesSecret(t *testing.T) {
	s := newStoreScenario(t, iamlocal.Options{}, 2)
	s.converge(1)
	a, x := s.names[0], s.names[1]
	ctx := context.Background()
	recKey := func(name string) string {
		k := s.store.key(s.outfile(name))
		return path.Dir(k) + "/" + journal.RecordName(path.Base(k))
	}
	b, ok := s.store.get(t, recKey(x))
	if !ok {
		t.Fatalf("no record of %s in the store", x)
	}
	var rec journal.Record
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	theirs, _ := s.outfileBytes(a)
	sum := sha256.Sum256(theirs)
	hexSum := hex.EncodeToString(sum[:])
	m := hmac.New(sha256.New, []byte(rec.Proof))
	m.Write([]byte("mfabulk outfile v1\x00" + hexSum))
	if _, err := s.store.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.store.name), Key: aws.String(s.store.key(s.outfile(x))), Body: strings.NewReader(string(theirs)),
		Metadata: map[string]string{"mfabulk-intent-mac": hex.EncodeToString(m.Sum(nil))},
	}); err != nil {
		t.Fatal(err)
	}
	rec.OutfileSHA256, rec.Recipients = hexSum, []journal.Recipient{{Fingerprint: "0000", Label: "forged"}}
	forged, _ := json.Marshal(rec)
	if _, err := s.store.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.store.name), Key: aws.String(recKey(x)), Body: strings.NewReader(string(forged) + "\n"),
	}); err != nil {
		t.Fatal(err)
	}
	if a := s.planJSON()[x]; !strings.HasPrefix(a, "reseal: ") {
		t.Logf("plan lists %s as %q", x, a)
	}
	out, code := s.mfabulk("apply", "-f", "m.yaml", "--auto-approve", "-i", "identity.txt")
	if code == 0 || !strings.Contains(out, "is not the one its record was made for") {
		t.Errorf("apply -i re-sealed another device's secret into %s's outfile (exit %d):\n%s", x, code, lastLines(out, 10))
	}
	if now, _ := s.outfileBytes(x); string(now) != string(theirs) {
		t.Errorf("the refused re-seal changed %s's outfile", x)
	}
	s.leakScan()
}
