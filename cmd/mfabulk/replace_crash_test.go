package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/failpoint"
)

// killedAt runs mfabulk as a subprocess with the failpoint armed and
// reports whether it died of SIGKILL there.
func (s *scenario) killedAt(fp string, args ...string) bool {
	s.t.Helper()
	cmd := subprocess(args...)
	cmd.Env = append(cmd.Env, "MFABULK_FAILPOINT="+fp)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	s.record(out.Bytes())
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true
		}
	}
	s.t.Errorf("mfabulk %s was not killed at failpoint %s (%v):\n%s", strings.Join(args, " "), fp, err, lastLines(out.String(), 5))
	return false
}

// planJSON runs plan -o json in-process, stdout apart from --debug's
// stderr, and returns each listed device's action.
func (s *scenario) planJSON(args ...string) map[string]string {
	s.t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"plan", "-f", "m.yaml", "-o", "json"}, args...), IO{In: strings.NewReader(""), Out: &out, Err: &errb})
	s.record(out.Bytes())
	s.record(errb.Bytes())
	if code != 0 {
		s.t.Fatalf("plan -o json exited %d:\n%s", code, lastLines(errb.String(), 5))
	}
	var p jsonPlan
	if err := json.Unmarshal(out.Bytes(), &p); err != nil {
		s.t.Fatalf("plan -o json: %v", err)
	}
	listed := map[string]string{}
	for _, c := range p.Changes {
		listed[c.Device] = c.Action + ": " + c.Reason
	}
	return listed
}

// asideFiles lists the moved-aside copies of an outfile in its folder:
// OUTFILE.replaced-STAMP, or a shortened OUTFILE with a hash when that
// would pass 255 bytes.
func asideFiles(t *testing.T, outfile string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(outfile))
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Base(outfile)
	prefix := base[:min(len(base), 40)]
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) && strings.Contains(e.Name(), ".replaced-") {
			out = append(out, filepath.Join(filepath.Dir(outfile), e.Name()))
		}
	}
	return out
}

// checkKept asserts that the outfile a replace or prune superseded is
// still there, under a moved-aside name of at most 255 bytes, byte for
// byte as it was, and that the reference age CLI decrypts it to the
// secret the old device was issued.
func (s *scenario) checkKept(outfile string, old iamlocal.Device, ciphertext []byte) {
	s.t.Helper()
	aside := s.asides(outfile)
	if len(aside) == 0 {
		s.t.Errorf("the old outfile of %s is gone: nothing was moved aside from %s", old.Name, outfile)
		return
	}
	want := old.QRCodePNG
	if strings.HasSuffix(outfile, ".txt.age") {
		want = old.Seed
	}
	kept := false
	var names []string
	for a, b := range aside {
		names = append(names, a)
		if n := len(filepath.Base(a)); s.store == nil && n > 255 {
			s.t.Errorf("moved-aside name is %d bytes, more than 255: %s", n, a)
		}
		if bytes.Equal(b, ciphertext) && bytes.Equal(s.decrypt(b), want) {
			kept = true
		}
	}
	if !kept {
		s.t.Errorf("none of %q is the old outfile of %s decrypting to its old secret", names, old.Name)
	}
}

// asides is the moved-aside copies of an outfile, by path (or
// s3://BUCKET/KEY), in the folder or the store.
func (s *scenario) asides(outfile string) map[string][]byte {
	s.t.Helper()
	if s.store != nil {
		return s.store.asides(s.t, s.store.key(outfile))
	}
	out := map[string][]byte{}
	for _, a := range asideFiles(s.t, outfile) {
		out[a] = mustRead(s.t, a)
	}
	return out
}

// checkSettled asserts that no intent is left once apply converged: each
// was settled or taken over and settled.
func checkSettled(t *testing.T) {
	t.Helper()
	left, _ := filepath.Glob(filepath.Join("out", ".*.intent"))
	if len(left) > 0 {
		t.Errorf("intents left after convergence: %q", left)
	}
}

// TestReplaceLongName replaces a device whose name has IAM's maximum
// length, 226: its QR outfile's name is 234 bytes, so OUTFILE.replaced-
// STAMP would pass the 255-byte file-name limit. The old outfile must be
// kept all the same, under a shortened name.
func TestReplaceLongName(t *testing.T) {
	s := newScenario(t, iamlocal.Options{}, 0)
	name := "long." + strings.Repeat("x", 221)
	s.names = []string{name}
	manifest := mustRead(t, "m.yaml")
	writeFile(t, "m.yaml", string(manifest)+"  - {name: "+name+", bootstrap: QRCodePNG}\n", 0o644)
	if out, code := s.mfabulk("apply", "-f", "m.yaml", "--auto-approve"); code != 0 {
		t.Fatalf("apply exited %d:\n%s", code, lastLines(out, 10))
	}
	s.checkDurable()
	outfile := s.outfile(name)
	if n := len(filepath.Base(outfile)); n != 234 {
		t.Fatalf("outfile name is %d bytes, want 234", n)
	}
	old, _ := s.srv.Device(name)
	ciphertext := mustRead(t, outfile)

	if out, code := s.mfabulk("apply", "-f", "m.yaml", "--replace", name, "--auto-approve"); code != 0 {
		t.Fatalf("apply --replace exited %d:\n%s", code, lastLines(out, 10))
	}
	if now, _ := s.srv.Device(name); bytes.Equal(now.Seed, old.Seed) {
		t.Errorf("device %s still has its old secret", name)
	}
	s.checkDurable()
	s.checkKept(outfile, old, ciphertext)
	if out, code := s.mfabulk("plan", "-f", "m.yaml", "--detailed-exitcode"); code != 0 {
		t.Errorf("plan after the replace exited %d:\n%s", code, lastLines(out, 10))
	}
	checkSettled(t)
	s.leakScan()
}

// TestLongOutfileName gives a device an outfile name from 240 to 255
// bytes: a legal file name, but the intent, record and temporary files
// beside it add to it. Such a manifest is either carried out in full
// (outfile durable, replace keeping the old one) or refused before the
// first API call, at the outfile's file:line:col; never a device created
// and rolled back, nor a half-done run.
func TestLongOutfileName(t *testing.T) {
	for _, n := range []int{236, 239, 240, 247, 248, 255} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := newScenario(t, iamlocal.Options{}, 0)
			name := strings.Repeat("y", 226)
			s.names = []string{name}
			template := "out/{{.Name}}" + strings.Repeat("p", n-234) + "{{.Ext}}.age"
			writeFile(t, "m.yaml", string(mustRead(t, "m.yaml"))+"  - {name: "+name+", bootstrap: QRCodePNG, outfile: \""+template+"\"}\n", 0o644)
			out, code := s.mfabulk("apply", "-f", "m.yaml", "--auto-approve")
			if code != 0 {
				if c := s.srv.Requests()["CreateVirtualMFADevice"]; c != 0 || !strings.Contains(out, "m.yaml:6:") {
					t.Fatalf("apply of a %d-byte outfile name exited %d after %d create call(s), without pointing at m.yaml:6:\n%s", n, code, c, lastLines(out, 6))
				}
				return
			}
			outfile := filepath.Join("out", name+strings.Repeat("p", n-234)+".png.age")
			old, _ := s.srv.Device(name)
			ciphertext := mustRead(t, outfile)
			if out, code := s.mfabulk("apply", "-f", "m.yaml", "--replace", name, "--auto-approve"); code != 0 {
				t.Fatalf("apply --replace exited %d:\n%s", code, lastLines(out, 6))
			}
			s.checkKept(outfile, old, ciphertext)
			if out, code := s.mfabulk("plan", "-f", "m.yaml", "--detailed-exitcode"); code != 0 {
				t.Errorf("plan after the replace exited %d:\n%s", code, lastLines(out, 6))
			}
			checkSettled(t)
			s.leakScan()
		})
	}
}

// TestReplaceKilledAtEachStep SIGKILLs apply --replace at each step of a
// replace (old outfile moved aside; old device deleted; new device
// created; new outfile durable) for a QR and a seed device. Whatever step
// it died at, the next plain apply finishes the replace by itself (the
// intent records it), the account converges with every outfile holding
// its device's live secret, the other devices are untouched, and the old
// outfile is still there under its moved-aside name, decrypting to the old
// secret. With -short, each step for one of the two devices in turn: every
// step and both kinds are killed, not every pair.
func TestReplaceKilledAtEachStep(t *testing.T) {
	for i, fp := range []string{failpoint.ReplaceMovedAside, failpoint.ReplaceDeleted, failpoint.Created, failpoint.OutfileWritten} {
		for j, target := range []string{"d000", "d001"} {
			if testing.Short() && j != i%2 {
				continue
			}
			t.Run(fp+"/"+target, func(t *testing.T) {
				s := newScenario(t, iamlocal.Options{}, 4)
				s.converge(1)
				before := map[string]iamlocal.Device{}
				for _, d := range s.srv.Devices() {
					before[d.Name] = d
				}
				outfile := s.outfile(target)
				ciphertext := mustRead(t, outfile)

				if s.killedAt(fp, "apply", "-f", "m.yaml", "--replace", target, "--auto-approve") {
					listed := s.planJSON()
					if a, ok := listed[target]; ok && strings.HasPrefix(a, "mismatch") {
						t.Errorf("after a kill at %s, plan needs a person for %s (%s): the intent proves the replace is ours to finish", fp, target, a)
					}
					for name, a := range listed {
						if name != target {
							t.Errorf("after a kill at %s, plan lists %s, which the replace never touched: %s", fp, name, a)
						}
					}
				}
				s.converge(2)
				s.checkDurable()
				for _, d := range s.srv.Devices() {
					switch {
					case d.Name == target && bytes.Equal(d.Seed, before[d.Name].Seed):
						t.Errorf("%s still has its old secret", d.Name)
					case d.Name != target && d.Serial == before[d.Name].Serial && !bytes.Equal(d.Seed, before[d.Name].Seed):
						t.Errorf("%s was replaced too, though only %s was asked for", d.Name, target)
					}
				}
				s.checkKept(outfile, before[target], ciphertext)
				checkSettled(t)
				s.leakScan()
			})
		}
	}
}

// TestCreateKilledAtEachStep SIGKILLs the first apply of a manifest once
// a device is created and again once its outfile is durable (its record
// and intent not yet settled). Plan must not ask a person about the device
// the killed run made (its intent proves it ours), and applies converge.
func TestCreateKilledAtEachStep(t *testing.T) {
	for _, fp := range []string{failpoint.Created, failpoint.OutfileLinked, failpoint.OutfileWritten} {
		t.Run(fp, func(t *testing.T) {
			s := newScenario(t, iamlocal.Options{}, 4)
			if s.killedAt(fp, "apply", "-f", "m.yaml", "--auto-approve", "--parallelism", "1") {
				for name, a := range s.planJSON() {
					if strings.HasPrefix(a, "mismatch") {
						t.Errorf("after a kill at %s, plan needs a person for %s (%s): the intent proves the device ours", fp, name, a)
					}
				}
			}
			s.converge(2)
			s.checkDurable()
			checkSettled(t)
			s.leakScan()
		})
	}
}

// TestPruneKilledAfterMoveAside removes a device from a scoped manifest
// and SIGKILLs apply --prune once the device's outfile is moved aside,
// before the device is deleted. The next apply --prune finishes the prune;
// the outfile stays under its moved-aside name, decrypting to the pruned
// device's secret; and the device, added to the manifest again, is
// created afresh (its old outfile no longer stands in the way).
func TestPruneKilledAfterMoveAside(t *testing.T) {
	for _, target := range []string{"d000", "d001"} {
		t.Run(target, func(t *testing.T) {
			s := newScenario(t, iamlocal.Options{}, 4)
			full := strings.Replace(string(mustRead(t, "m.yaml")), "version: 1\n", "version: 1\nscope: {paths: [/faults/]}\n", 1)
			writeFile(t, "m.yaml", full, 0o644)
			s.converge(1)
			old, _ := s.srv.Device(target)
			outfile := s.outfile(target)
			ciphertext := mustRead(t, outfile)

			var without []string
			for _, l := range strings.SplitAfter(full, "\n") {
				if !strings.Contains(l, "name: "+target+",") {
					without = append(without, l)
				}
			}
			writeFile(t, "m.yaml", strings.Join(without, ""), 0o644)
			s.names = slices.DeleteFunc(slices.Clone(s.names), func(n string) bool { return n == target })

			if s.killedAt(failpoint.PruneMovedAside, "apply", "-f", "m.yaml", "--prune", "--auto-approve") {
				if _, ok := s.srv.Device(target); !ok {
					t.Errorf("%s was deleted before the kill at %s", target, failpoint.PruneMovedAside)
				}
			}
			if out, code := s.mfabulk("apply", "-f", "m.yaml", "--prune", "--auto-approve"); code != 0 {
				t.Errorf("apply --prune after the kill exited %d:\n%s", code, lastLines(out, 10))
			}
			if out, code := s.mfabulk("plan", "-f", "m.yaml", "--prune", "--detailed-exitcode"); code != 0 {
				t.Errorf("plan --prune after the prune exited %d:\n%s", code, lastLines(out, 10))
			}
			if _, ok := s.srv.Device(target); ok {
				t.Errorf("%s was not pruned", target)
			}
			s.checkDurable()
			s.checkKept(outfile, old, ciphertext)

			// Added again, it is a plain create.
			writeFile(t, "m.yaml", full, 0o644)
			s.names = append(s.names, target)
			if out, code := s.mfabulk("apply", "-f", "m.yaml", "--prune", "--auto-approve"); code != 0 {
				t.Errorf("apply of the device added again exited %d:\n%s", code, lastLines(out, 10))
			}
			if out, code := s.mfabulk("plan", "-f", "m.yaml", "--prune", "--detailed-exitcode"); code != 0 {
				t.Errorf("plan after adding %s again exited %d:\n%s", target, code, lastLines(out, 10))
			}
			s.checkDurable()
			if now, ok := s.srv.Device(target); ok && bytes.Equal(now.Seed, old.Seed) {
				t.Errorf("%s, added again, has the pruned device's secret", target)
			}
			s.checkKept(outfile, old, ciphertext)
			checkSettled(t)
			s.leakScan()
		})
	}
}

// TestTakeoverKilledWhileRewritingIntent: a run killed after its create,
// before the outfile, leaves an intent that is the only evidence of its
// device; the next apply takes it over (it replaces the device whose
// seed is lost) and is killed while it rewrites that intent. The intent
// must name one create or the other, never neither: rewritten in place
// (truncated, then written), it was left empty, a file plan reports and
// never acts on, and the device, whose seed no one has, could no longer
// be proved mfabulk's and replaced.
func TestTakeoverKilledWhileRewritingIntent(t *testing.T) {
	s := newScenario(t, iamlocal.Options{}, 2)
	for _, fp := range []string{failpoint.Created, failpoint.IntentRewritten} {
		if !s.killedAt(fp, "apply", "-f", "m.yaml", "--auto-approve", "--parallelism", "1") {
			t.Fatalf("apply was not killed at %s", fp)
		}
	}
	for name, a := range s.planJSON() {
		if strings.HasPrefix(a, "mismatch") || strings.HasPrefix(a, "conflict") {
			t.Errorf("after a kill while taking over an intent, plan needs a person for %s (%s)", name, a)
		}
	}
	s.converge(2)
	s.checkDurable()
	checkSettled(t)
	s.leakScan()
}
