package main

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal/localtest"
	"github.com/mfabulk/mfabulk/internal/reftools"
)

// A scenario is one account (an in-process iamlocal), one folder with a
// manifest of n devices, and every byte mfabulk printed in it, for the
// fault, crash and leak tests.
type scenario struct {
	t        *testing.T
	srv      *iamlocal.Server
	dir      string
	names    []string
	store    *bucket // the S3 store the manifest names (newStoreScenario); nil: the folder
	mu       sync.Mutex
	captured bytes.Buffer // stdout and stderr of every run
}

func newScenario(t *testing.T, opts iamlocal.Options, n int) *scenario {
	t.Helper()
	reftools.Require(t, "age", "age")
	srv, _ := localtest.Start(t, opts)
	s := &scenario{t: t, srv: srv, dir: t.TempDir()}
	t.Chdir(s.dir)
	t.Setenv("MFABULK_MAX_BACKOFF", "50ms")
	t.Setenv("MFABULK_DEBUG", "true")
	id, _ := age.GenerateX25519Identity()
	os.WriteFile("identity.txt", []byte(id.String()+"\n"), 0o600)
	var m strings.Builder
	fmt.Fprintf(&m, "version: 1\ndefaults:\n  path: /faults/\n  recipients: [%s]\ndevices:\n", id.Recipient())
	for i := range n {
		name, bootstrap := fmt.Sprintf("d%03d", i), "QRCodePNG"
		if i%2 == 1 {
			bootstrap = "Base32StringSeed"
		}
		s.names = append(s.names, name)
		fmt.Fprintf(&m, "  - {name: %s, bootstrap: %s}\n", name, bootstrap)
	}
	os.WriteFile("m.yaml", []byte(m.String()), 0o644)
	return s
}

// mfabulk runs the CLI in-process and records what it printed.
func (s *scenario) mfabulk(args ...string) (string, int) {
	var out bytes.Buffer
	code := run(context.Background(), args, IO{In: strings.NewReader(""), Out: &out, Err: &out})
	s.record(out.Bytes())
	return out.String(), code
}

func (s *scenario) record(b []byte) {
	s.mu.Lock()
	s.captured.Write(b)
	s.mu.Unlock()
}

// converge applies until the account matches, as a cron job would, and
// returns how many applies it took.
func (s *scenario) converge(maxRuns int) int {
	s.t.Helper()
	for runs := 1; runs <= maxRuns; runs++ {
		out, code := s.mfabulk("apply", "-f", "m.yaml", "--auto-approve")
		if code == 0 {
			if _, code := s.mfabulk("plan", "-f", "m.yaml", "--detailed-exitcode"); code == 0 {
				return runs
			}
		}
		s.t.Logf("apply %d did not converge:\n%s", runs, lastLines(out, 12))
	}
	s.t.Fatalf("no convergence after %d applies", maxRuns)
	return 0
}

// outfile is where the manifest puts device i's secret.
func (s *scenario) outfile(name string) string {
	var i int
	fmt.Sscanf(name, "d%03d", &i)
	if i%2 == 1 {
		return filepath.Join("out", name+".txt.age")
	}
	return filepath.Join("out", name+".png.age")
}

// checkDurable is invariant 1 once converged: the account holds exactly the
// manifest's devices, each with an outfile that the reference age CLI
// decrypts to the secret IAM issued for it.
func (s *scenario) checkDurable() {
	s.t.Helper()
	devs := s.srv.Devices()
	if len(devs) != len(s.names) {
		s.t.Errorf("account has %d devices, manifest %d", len(devs), len(s.names))
	}
	for _, d := range devs {
		s.checkOutfile(d)
	}
}

func (s *scenario) checkOutfile(d iamlocal.Device) bool {
	s.t.Helper()
	ciphertext, ok := s.outfileBytes(d.Name)
	if !ok {
		s.t.Errorf("device %s has no outfile at %s", d.Name, s.where(d.Name))
		return false
	}
	if got := s.decrypt(ciphertext); !bytes.Equal(got, s.secretOf(d)) {
		s.t.Errorf("%s does not decrypt to the secret issued for %s", s.where(d.Name), d.Name)
		return false
	}
	return true
}

// secretOf is what a device's outfile holds: the Base32 seed in a .txt.age
// outfile (the manifest's odd devices), else the QR code PNG.
func (s *scenario) secretOf(d iamlocal.Device) []byte {
	if strings.HasSuffix(s.outfile(d.Name), ".txt.age") {
		return d.Seed
	}
	return d.QRCodePNG
}

// where is the device's outfile for messages: a path, or s3://BUCKET/KEY.
func (s *scenario) where(name string) string {
	if s.store != nil {
		return "s3://" + s.store.name + "/" + s.store.key(s.outfile(name))
	}
	return filepath.Join(s.dir, s.outfile(name))
}

// outfileBytes is the device's outfile as it is now, in the folder or the
// store, and whether there is one.
func (s *scenario) outfileBytes(name string) ([]byte, bool) {
	s.t.Helper()
	if s.store != nil {
		return s.store.get(s.t, s.store.key(s.outfile(name)))
	}
	b, err := os.ReadFile(filepath.Join(s.dir, s.outfile(name)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false
	}
	if err != nil {
		s.t.Fatalf("read the outfile of %s: %v", name, err)
	}
	return b, true
}

// decrypt decrypts an outfile's bytes with the scenario's identity and
// the reference age CLI. The ciphertext goes through a file of the test's
// own (age reads its input from a file); the plaintext only through a pipe.
func (s *scenario) decrypt(ciphertext []byte) []byte {
	s.t.Helper()
	f, err := os.CreateTemp(s.t.TempDir(), "outfile-*.age")
	if err != nil {
		s.t.Fatal(err)
	}
	_, err = f.Write(ciphertext)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		s.t.Fatal(err)
	}
	return reftools.AgeDecrypt(s.t, filepath.Join(s.dir, "identity.txt"), f.Name())
}

// leakScan is invariant 2: no secret ever issued, in any encoding, is in
// any file of the scenario's folder other than age ciphertext, nor in
// any version of any object of its store's bucket other than age
// ciphertext, nor in anything mfabulk printed (--debug was on throughout).
func (s *scenario) leakScan() {
	s.t.Helper()
	var needles [][]byte
	for _, d := range s.srv.Issued() {
		raw, _ := base32.StdEncoding.DecodeString(string(d.Seed))
		needles = append(needles, d.Seed, bytes.ToLower(d.Seed), raw,
			[]byte(base64.StdEncoding.EncodeToString(d.Seed)), []byte(base64.StdEncoding.EncodeToString(raw)))
		if len(d.QRCodePNG) > 0 {
			needles = append(needles, d.QRCodePNG[8:64], []byte(base64.StdEncoding.EncodeToString(d.QRCodePNG)[:64]))
		}
	}
	var leaks []string
	scan := func(where string, data []byte) {
		for _, n := range needles {
			if bytes.Contains(data, n) {
				s.t.Errorf("LEAK: a secret appears in %s", where)
				leaks = append(leaks, where)
				return
			}
		}
	}
	files := 0
	err := filepath.WalkDir(s.dir, func(path string, e fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			s.t.Errorf("leak scan cannot walk %s: %v", path, err)
			return nil
		}
		if !e.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			s.t.Errorf("leak scan cannot read %s: %v", path, err)
			return nil
		}
		if bytes.HasPrefix(data, []byte("age-encryption.org/v1\n")) {
			return nil
		}
		files++
		scan(path, data)
		return nil
	})
	if err != nil {
		s.t.Errorf("leak scan of %s: %v", s.dir, err)
	}
	versions := 0
	if s.store != nil {
		versions = s.store.scanVersions(s.t, func(where string, data []byte) {
			if !bytes.HasPrefix(data, []byte("age-encryption.org/v1\n")) {
				files++
				scan(where, data)
			}
		})
	}
	s.mu.Lock()
	scan("mfabulk's output", s.captured.Bytes())
	outBytes := s.captured.Len()
	s.mu.Unlock()
	summary := fmt.Sprintf("leak scan: %d secrets × %d encodings over %d plaintext files and %d bytes of output",
		len(s.srv.Issued()), len(needles)/max(len(s.srv.Issued()), 1), files, outBytes)
	if s.store != nil {
		summary += fmt.Sprintf(" (%d object versions in s3://%s, plaintext ones among the files)", versions, s.store.name)
	}
	if len(leaks) > 0 {
		s.t.Errorf("%s: %d LEAK(S), in %s", summary, len(leaks), strings.Join(leaks, ", "))
		return
	}
	s.t.Logf("%s: clean", summary)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// subprocess starts this test binary as mfabulk (see TestMain).
func subprocess(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "MFABULK_TEST_AS_MAIN=1")
	return cmd
}
