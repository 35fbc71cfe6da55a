package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/failpoint"
	"github.com/mfabulk/mfabulk/internal/journal"
)

// rotateEscrow swaps the scenario's recipient for a new key in its
// manifest, as a security team rotating its escrow key does: the old
// identity moves to old.txt, and identity.txt (what the scenario's checks
// decrypt with) is the new one.
func (s *scenario) rotateEscrow() {
	s.t.Helper()
	old, err := age.ParseX25519Identity(strings.TrimSpace(string(mustRead(s.t, "identity.txt"))))
	if err != nil {
		s.t.Fatal(err)
	}
	id, _ := age.GenerateX25519Identity()
	writeFile(s.t, "old.txt", old.String()+"\n", 0o600)
	writeFile(s.t, "identity.txt", id.String()+"\n", 0o600)
	m := strings.Replace(string(mustRead(s.t, "m.yaml")), old.Recipient().String(), id.Recipient().String(), 1)
	writeFile(s.t, "m.yaml", m, 0o644)
}

// checkNotOld asserts that the old escrow key opens no outfile any more.
func (s *scenario) checkNotOld() {
	s.t.Helper()
	for _, name := range s.names {
		ct, _ := s.outfileBytes(name)
		f := filepath.Join(s.t.TempDir(), "outfile.age")
		writeFile(s.t, f, string(ct), 0o600)
		if err := exec.Command("age", "-d", "-i", "old.txt", "-o", os.DevNull, f).Run(); err == nil {
			s.t.Errorf("the old escrow key still decrypts the outfile of %s after the re-seal", name)
		}
	}
}

// TestResealKilledBetweenOutfileAndRecord rotates the escrow key, then
// SIGKILLs apply -i OLD right after a re-sealed outfile replaced the old
// one and before its record was: the outfile and its record disagree.
// The next plan must not take that for an outfile it cannot vouch for
// (mismatch) nor miss it: the intent the re-seal left settles it, and a
// plain apply (no identity needed) writes the record. Then the rest is
// re-sealed, and every outfile opens with the new key and not the old
// (Debian's age), with nothing of a secret leaked. In a folder and in the
// S3 store (moto_server).
func TestResealKilledBetweenOutfileAndRecord(t *testing.T) {
	for _, store := range []bool{false, true} {
		t.Run(map[bool]string{false: "folder", true: "s3"}[store], func(t *testing.T) {
			var s *scenario
			if store {
				s = newStoreScenario(t, iamlocal.Options{}, 2)
			} else {
				s = newScenario(t, iamlocal.Options{}, 2)
			}
			s.converge(1)
			s.rotateEscrow()
			listed := s.planJSON()
			for _, name := range s.names {
				if !strings.HasPrefix(listed[name], "reseal: ") {
					t.Fatalf("after the escrow key was swapped, plan lists %s as %q, want reseal", name, listed[name])
				}
			}
			if !s.killedAt(failpoint.ResealReplaced, "apply", "-f", "m.yaml", "--auto-approve", "--parallelism", "1", "-i", "old.txt") {
				return
			}
			s.afterKill()
			listed = s.planJSON()
			settled := 0
			for _, name := range s.names {
				switch a := listed[name]; {
				case strings.HasPrefix(a, "settle: an earlier re-seal was stopped"):
					settled++
				case strings.HasPrefix(a, "reseal: "):
				default:
					t.Errorf("after a kill between a re-sealed outfile and its record, plan lists %s as %q, want settle or reseal", name, a)
				}
			}
			if settled != 1 {
				t.Errorf("plan settles %d re-sealed outfile(s), want the 1 the killed run replaced: %v", settled, listed)
			}
			// The nightly run, without an identity, records it.
			if out, code := s.mfabulk("apply", "-f", "m.yaml", "--auto-approve"); code != 0 || !strings.Contains(out, "1 outfile(s) left to re-seal") {
				t.Fatalf("apply without -i exited %d:\n%s", code, lastLines(out, 10))
			}
			if out, code := s.mfabulk("apply", "-f", "m.yaml", "--auto-approve", "-i", "old.txt"); code != 0 {
				t.Fatalf("apply -i old.txt exited %d:\n%s", code, lastLines(out, 10))
			}
			if out, code := s.mfabulk("plan", "-f", "m.yaml", "--detailed-exitcode"); code != 0 {
				t.Errorf("plan after the re-seal exited %d:\n%s", code, lastLines(out, 10))
			}
			s.checkDurable()
			s.checkNotOld()
			s.checkSettled()
			s.checkSecretBound()
			if !store {
				for _, name := range s.names {
					if a := asideFiles(t, s.outfile(name)); len(a) > 0 {
						t.Errorf("a re-seal left a copy of the old ciphertext: %q", a)
					}
				}
			}
			s.leakScan()
		})
	}
}

// TestResealKilledBeforeReplacing SIGKILLs apply -i OLD after a re-seal's
// intent is durable and before any outfile is replaced. The outfiles and
// records stand as they were: the next plan re-seals them again, taking
// the intent over; and if the manifest goes back to the old key
// meanwhile, the intent is cleared without an identity (settle), never
// left to block the device.
func TestResealKilledBeforeReplacing(t *testing.T) {
	for _, revert := range []bool{false, true} {
		t.Run(map[bool]string{false: "reseal", true: "reverted"}[revert], func(t *testing.T) {
			s := newScenario(t, iamlocal.Options{}, 2)
			s.converge(1)
			manifest := mustRead(t, "m.yaml")
			s.rotateEscrow()
			if !s.killedAt(failpoint.ResealBegun, "apply", "-f", "m.yaml", "--auto-approve", "--parallelism", "1", "-i", "old.txt") {
				return
			}
			want := "reseal: its recipients are not the manifest's"
			if revert {
				writeFile(t, "m.yaml", string(manifest), 0o644)
				writeFile(t, "identity.txt", string(mustRead(t, "old.txt")), 0o600)
				want = "settle: an earlier re-seal was stopped before it replaced the outfile"
			}
			listed := s.planJSON()
			begun := 0
			for _, name := range s.names {
				switch a := listed[name]; {
				case strings.HasPrefix(a, want):
					begun++
				case !revert && strings.HasPrefix(a, "reseal: "), revert && a == "": // not started
				default:
					t.Errorf("after a kill before a re-seal replaced its outfile, plan lists %s as %q, want %q", name, a, want)
				}
			}
			if begun == 0 {
				t.Errorf("plan lists no device as %q: %v", want, listed)
			}
			args := []string{"apply", "-f", "m.yaml", "--auto-approve"}
			if !revert {
				args = append(args, "-i", "old.txt")
			}
			if out, code := s.mfabulk(args...); code != 0 {
				t.Fatalf("%v exited %d:\n%s", args, code, lastLines(out, 10))
			}
			if out, code := s.mfabulk("plan", "-f", "m.yaml", "--detailed-exitcode"); code != 0 {
				t.Errorf("plan after it exited %d:\n%s", code, lastLines(out, 10))
			}
			s.checkDurable()
			if !revert {
				s.checkNotOld()
			}
			s.checkSettled()
			s.leakScan()
		})
	}
}

// TestResealKilledThenOutfileMoved SIGKILLs apply -i OLD after a re-seal's
// intent is durable, then the outfiles are moved away (a person copying
// them elsewhere; a principal deleting the objects). The re-seal's intent
// names the live device with its proof, but the device's seed was durable
// before it began: the next plan must not take the missing outfile for a
// lost seed and replace (delete) the device; it is a mismatch, as for any
// device whose outfile is not there.
func TestResealKilledThenOutfileMoved(t *testing.T) {
	s := newScenario(t, iamlocal.Options{}, 2)
	s.converge(1)
	s.rotateEscrow()
	if !s.killedAt(failpoint.ResealBegun, "apply", "-f", "m.yaml", "--auto-approve", "--parallelism", "1", "-i", "old.txt") {
		return
	}
	moved := t.TempDir()
	for _, name := range s.names {
		if err := os.Rename(s.outfile(name), filepath.Join(moved, name)); err != nil {
			t.Fatal(err)
		}
	}
	for name, a := range s.planJSON() {
		if !strings.HasPrefix(a, "mismatch: ") {
			t.Errorf("after a killed re-seal and its outfile moved away, plan lists %s as %q, want a mismatch", name, a)
		}
	}
}

// TestResealSettleKilledThenOutfileMoved: the re-seal's intent is left
// (killed before it replaced the outfile), the manifest goes back to the
// recorded recipients, and the apply that settles the intent is killed as
// it takes the intent over. The intent is still a re-seal's: with the
// outfiles then moved away, plan lists mismatches, never a replace.
func TestResealSettleKilledThenOutfileMoved(t *testing.T) {
	s := newScenario(t, iamlocal.Options{}, 2)
	s.converge(1)
	manifest := mustRead(t, "m.yaml")
	s.rotateEscrow()
	if !s.killedAt(failpoint.ResealBegun, "apply", "-f", "m.yaml", "--auto-approve", "--parallelism", "1", "-i", "old.txt") {
		return
	}
	writeFile(t, "m.yaml", string(manifest), 0o644)
	writeFile(t, "identity.txt", string(mustRead(t, "old.txt")), 0o600)
	if !s.killedAt(failpoint.IntentRewritten, "apply", "-f", "m.yaml", "--auto-approve") {
		return
	}
	moved := t.TempDir()
	for _, name := range s.names {
		if err := os.Rename(s.outfile(name), filepath.Join(moved, name)); err != nil {
			t.Fatal(err)
		}
	}
	for name, a := range s.planJSON() {
		if !strings.HasPrefix(a, "mismatch: ") {
			t.Errorf("after a killed settle of a re-seal and its outfile moved away, plan lists %s as %q, want a mismatch", name, a)
		}
	}
}

// TestResealKilledThenOtherFilePut SIGKILLs apply -i OLD after a re-seal's
// intent is durable and before it replaced any outfile; then a person
// puts another file of theirs at an outfile's name (an older copy, here
// another device's outfile). The intent must not make plan record that
// file as the device's (settle): it is neither the outfile the re-seal
// read nor the one it wrote, and plan says so (mismatch).
func TestResealKilledThenOtherFilePut(t *testing.T) {
	s := newScenario(t, iamlocal.Options{}, 2)
	s.converge(1)
	s.rotateEscrow()
	if !s.killedAt(failpoint.ResealBegun, "apply", "-f", "m.yaml", "--auto-approve", "--parallelism", "1", "-i", "old.txt") {
		return
	}
	other, _ := s.outfileBytes(s.names[1])
	tmp := s.outfile(s.names[0]) + ".restored"
	writeFile(t, tmp, string(other), 0o600)
	if err := os.Rename(tmp, s.outfile(s.names[0])); err != nil {
		t.Fatal(err)
	}
	if a := s.planJSON()[s.names[0]]; !strings.HasPrefix(a, "mismatch: an earlier re-seal was stopped") {
		t.Errorf("after a killed re-seal and another file put at its outfile's name, plan lists %s as %q, want a mismatch", s.names[0], a)
	}
	if out, code := s.mfabulk("apply", "-f", "m.yaml", "--auto-approve"); code == 0 && strings.Contains(out, s.names[0]+": outfile") {
		t.Logf("apply:\n%s", lastLines(out, 10))
	}
	if b, _ := os.ReadFile(filepath.Join(filepath.Dir(s.outfile(s.names[0])), ".d000.png.age.id")); strings.Contains(string(b), sha256Hex(other)) {
		t.Errorf("apply recorded the file put at %s as the device's: %s", s.outfile(s.names[0]), b)
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// checkSecretBound asserts that every record binds the secret its outfile
// holds (journal.SecretMAC), as a later re-seal in an S3 store needs: a
// record written by a settle, without the secret in memory, too.
func (s *scenario) checkSecretBound() {
	s.t.Helper()
	for _, d := range s.srv.Devices() {
		rel := filepath.Join(filepath.Dir(s.outfile(d.Name)), journal.RecordName(filepath.Base(s.outfile(d.Name))))
		var b []byte
		if s.store != nil {
			b, _ = s.store.get(s.t, s.store.key(rel))
		} else {
			b, _ = os.ReadFile(rel)
		}
		var rec journal.Record
		if err := json.Unmarshal(b, &rec); err != nil || !journal.SecretMatches(rec.Proof, rec.SecretMAC, s.secretOf(d)) {
			s.t.Errorf("the record of %s does not bind its secret (%v): %s", d.Name, err, b)
		}
	}
}
