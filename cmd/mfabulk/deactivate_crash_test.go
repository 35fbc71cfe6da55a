package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/failpoint"
)

// mfaOf lists the serials of user's virtual MFA devices, as
// ListMFADevices lists them (the scenario's users have no others).
func (s *scenario) mfaOf(user string) []string {
	var out []string
	for _, d := range s.srv.Devices() {
		if strings.EqualFold(d.User, user) {
			out = append(out, d.Serial)
		}
	}
	return out
}

// TestLostPhoneKilledAtEachStep SIGKILLs apply --replace NAME
// --allow-deactivate of a device enabled for its user at each step of
// the lost-phone replace: old outfile moved aside; old device deactivated;
// deleted; new device created; new outfile durable. The next apply
// finishes it from the step it reached (with --allow-deactivate only
// while the old device is still the user's: a kill before the deactivate
// changed nothing for them), without asking a person about the device.
// At the end the user's MFA list holds only the new device, enabled with
// a secret its outfile holds; the old outfile is kept aside, decrypting
// to the old secret; the other device is untouched. With -short, each
// step for one of the two devices (QR, seed) in turn.
func TestLostPhoneKilledAtEachStep(t *testing.T) {
	steps := []string{failpoint.ReplaceMovedAside, failpoint.ReplaceDeactivated, failpoint.ReplaceDeleted, failpoint.Created, failpoint.OutfileWritten}
	for i, fp := range steps {
		for j, target := range []string{"d000", "d001"} {
			if testing.Short() && j != i%2 {
				continue
			}
			t.Run(fp+"/"+target, func(t *testing.T) {
				s := newScenario(t, iamlocal.Options{}, 2)
				s.withUsers()
				s.converge(1)
				s.checkAssigned()
				before := map[string]iamlocal.Device{}
				for _, d := range s.srv.Devices() {
					before[d.Name] = d
				}
				outfile := s.outfile(target)
				ciphertext := mustRead(t, outfile)

				resume := []string{"apply", "-f", "m.yaml", "--auto-approve"}
				if s.killedAt(fp, "apply", "-f", "m.yaml", "--replace", target, "--allow-deactivate", "--auto-approve") {
					d, _ := s.srv.Device(target)
					if fp == failpoint.ReplaceMovedAside {
						// Still the user's: resuming deactivates it, which
						// only the flag allows; without it plan says so.
						if d.User != target {
							t.Errorf("after a kill at %s, %s is assigned to %q", fp, target, d.User)
						}
						if a := s.planJSON()[target]; !strings.HasPrefix(a, "conflict") || !strings.Contains(a, "--allow-deactivate") {
							t.Errorf("after a kill at %s, plan without --allow-deactivate: %s", fp, a)
						}
						resume = append(resume, "--allow-deactivate")
					}
					for name, a := range s.planJSON("--allow-deactivate") {
						if name != target || strings.HasPrefix(a, "mismatch") || strings.HasPrefix(a, "conflict") {
							t.Errorf("after a kill at %s, plan lists %s: %s", fp, name, a)
						}
					}
				}
				if out, code := s.mfabulk(resume...); code != 0 {
					t.Errorf("%s after the kill at %s exited %d:\n%s", strings.Join(resume, " "), fp, code, lastLines(out, 10))
				}
				if out, code := s.mfabulk("plan", "-f", "m.yaml", "--detailed-exitcode"); code != 0 {
					t.Errorf("plan after the resumed replace exited %d:\n%s", code, lastLines(out, 10))
				}
				s.checkAssigned()
				now, _ := s.srv.Device(target)
				if bytes.Equal(now.Seed, before[target].Seed) {
					t.Errorf("%s still has its old secret", target)
				}
				if got := s.mfaOf(target); !slices.Equal(got, []string{now.Serial}) {
					t.Errorf("user %s's MFA devices are %q, want only the new %s", target, got, now.Serial)
				}
				for _, d := range s.srv.Devices() {
					if d.Name != target && !bytes.Equal(d.Seed, before[d.Name].Seed) {
						t.Errorf("%s was replaced too, though only %s was asked for", d.Name, target)
					}
				}
				if n := s.srv.Requests()["DeactivateMFADevice"]; n != 1 {
					t.Errorf("%d DeactivateMFADevice calls, want 1", n)
				}
				s.checkKept(outfile, before[target], ciphertext)
				checkSettled(t)
				s.leakScan()
			})
		}
	}
}

// TestLeaverKilledAtEachStep removes a device enabled for its user from a
// scoped manifest and SIGKILLs apply --prune --allow-deactivate once its
// outfile is moved aside, and once it is deactivated. The next apply
// --prune finishes: the device is gone, the user has no MFA device left,
// and the outfile stays under its moved-aside name.
func TestLeaverKilledAtEachStep(t *testing.T) {
	for _, fp := range []string{failpoint.PruneMovedAside, failpoint.PruneDeactivated} {
		t.Run(fp, func(t *testing.T) {
			s := newScenario(t, iamlocal.Options{}, 2)
			full := strings.Replace(string(mustRead(t, "m.yaml")), "version: 1\n", "version: 1\nscope: {paths: [/faults/]}\n", 1)
			writeFile(t, "m.yaml", full, 0o644)
			s.withUsers()
			s.converge(1)
			const target = "d001"
			old, _ := s.srv.Device(target)
			outfile := s.outfile(target)
			ciphertext := mustRead(t, outfile)
			var without []string
			for _, l := range strings.SplitAfter(string(mustRead(t, "m.yaml")), "\n") {
				if !strings.Contains(l, "name: "+target+",") {
					without = append(without, l)
				}
			}
			writeFile(t, "m.yaml", strings.Join(without, ""), 0o644)
			s.names = []string{"d000"}

			if s.killedAt(fp, "apply", "-f", "m.yaml", "--prune", "--allow-deactivate", "--auto-approve") {
				if _, ok := s.srv.Device(target); !ok {
					t.Errorf("%s was deleted before the kill at %s", target, fp)
				}
			}
			if out, code := s.mfabulk("apply", "-f", "m.yaml", "--prune", "--allow-deactivate", "--auto-approve"); code != 0 {
				t.Errorf("apply --prune after the kill exited %d:\n%s", code, lastLines(out, 10))
			}
			if out, code := s.mfabulk("plan", "-f", "m.yaml", "--prune", "--detailed-exitcode"); code != 0 {
				t.Errorf("plan --prune after the prune exited %d:\n%s", code, lastLines(out, 10))
			}
			if _, ok := s.srv.Device(target); ok {
				t.Errorf("%s was not pruned", target)
			}
			if got := s.mfaOf(target); len(got) != 0 {
				t.Errorf("the leaver %s still has MFA devices %q", target, got)
			}
			s.checkAssigned()
			s.checkKept(outfile, old, ciphertext)
			checkSettled(t)
			s.leakScan()
		})
	}
}
