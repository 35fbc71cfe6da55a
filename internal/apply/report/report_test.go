package report_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/mfabulk/mfabulk/internal/apply"
	"github.com/mfabulk/mfabulk/internal/apply/applytest"
	"github.com/mfabulk/mfabulk/internal/apply/report"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/seal"
)

// applied runs apply against an in-memory account, creating device "a"
// with its outfile in root/out.
func applied(t *testing.T, root string) (plan.Plan, apply.Result, string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	recipient := id.Recipient().String()
	d := manifest.Device{
		Name: "a", Path: "/", Bootstrap: "Base32StringSeed",
		Outfile: filepath.Join(root, "out", "a.txt.age"), Recipients: []string{recipient},
		Pos: manifest.Pos{File: filepath.Join(root, "m.yaml")},
	}
	p, err := plan.Compute([]manifest.Device{d}, plan.Observed{Account: applytest.Account}, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := apply.Run(context.Background(), applytest.New(), p, apply.Options{})
	if err != nil || len(res.Failed()) > 0 {
		t.Fatalf("Run: %v, failed %v", err, res.Failed())
	}
	return p, res, recipient
}

// TestBuildReadsNoFile: the report's hash is the SHA-256 of the outfile's
// bytes on disk, yet Build takes it from the result: with the outfile
// gone, the report is the same.
func TestBuildReadsNoFile(t *testing.T) {
	root := t.TempDir()
	p, res, recipient := applied(t, root)
	outfile := res.Outcomes[0].Outfile
	ct, err := os.ReadFile(outfile)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(ct)
	rs, err := seal.ParseRecipients([]string{recipient})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(outfile); err != nil {
		t.Fatal(err)
	}
	doc := report.Build(p, res, "test", time.Now(), time.Now(), root)
	e := doc.Changes[0]
	if e.Outcome != "ok" || e.CiphertextSHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("entry %+v, want outcome ok and hash %x", e, sum)
	}
	if len(e.Recipients) != 1 || e.Recipients[0] != rs.Fingerprints[0] {
		t.Errorf("recipients %q, want %q", e.Recipients, rs.Fingerprints)
	}
}

// TestBuildPaths: outfiles inside the working folder are shown relative to
// it, others as they are.
func TestBuildPaths(t *testing.T) {
	root := t.TempDir()
	p, res, _ := applied(t, root)
	for _, tt := range []struct{ wd, want string }{
		{root, filepath.Join("out", "a.txt.age")},
		{filepath.Join(root, "out"), "a.txt.age"},
		{filepath.Join(root, "elsewhere"), res.Outcomes[0].Outfile},
		{"", res.Outcomes[0].Outfile},
	} {
		doc := report.Build(p, res, "test", time.Now(), time.Now(), tt.wd)
		if got := doc.Changes[0].Outfile; got != tt.want {
			t.Errorf("wd %q: outfile %q, want %q", tt.wd, got, tt.want)
		}
	}
}
