package main

// Attack tests on the journal: intents are files anyone with access to the
// outfile folder can leave, copy or forge; plan and apply must verify them
// before acting on them (defect 4).

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal/localtest"
)

// seeds returns each device's seed, to prove later that none was replaced.
func seeds(srv *iamlocal.Server) map[string]string {
	m := map[string]string{}
	for _, d := range srv.Devices() {
		m[d.Name] = string(d.Seed)
	}
	return m
}

// checkUntouched asserts that srv made no delete and still holds exactly
// the devices of before, with the same seeds.
func checkUntouched(t *testing.T, srv *iamlocal.Server, before map[string]string) {
	t.Helper()
	if n := srv.Requests()["DeleteVirtualMFADevice"]; n != 0 {
		t.Errorf("%d DeleteVirtualMFADevice calls on devices mfabulk cannot prove are its own, want 0", n)
	}
	after := seeds(srv)
	for name, seed := range before {
		got, ok := after[name]
		switch {
		case !ok:
			t.Errorf("device %s is gone", name)
		case got != seed:
			t.Errorf("device %s was replaced: its seed changed", name)
		}
	}
}

func replaceLine(name string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)~ replace\s+/faults/` + regexp.QuoteMeta(name) + `\b`)
}

func intentsUnder(t *testing.T, root string) []string {
	t.Helper()
	var found []string
	filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".intent") {
			found = append(found, path)
		}
		return nil
	})
	return found
}

// Defect 4: intents left by an interrupted apply in account A are A's.
// Run against account B, where a colleague has devices of the same names,
// plan must not propose to replace them and apply must not delete them;
// A's intents must survive that run, so that back in A plan still finds
// A's seed-lost devices and a cron run converges.
func TestAttackForeignAccountIntents(t *testing.T) {
	// DropAfterCommit makes every create commit and lose its response, so
	// that from the first commit on A holds a device whose seed nobody
	// saw, for at least one Latency: the SIGKILL then reliably leaves
	// committed devices with their intents and no outfile.
	s := newScenario(t, iamlocal.Options{Account: "111111111111", Faults: iamlocal.Faults{
		Latency: 300 * time.Millisecond, DropAfterCommit: 1,
	}}, 8)
	urlA := os.Getenv("MFABULK_ENDPOINT_URL")
	cmd := subprocess("apply", "-f", "m.yaml", "--auto-approve", "--parallelism", "4")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && len(s.srv.Devices()) == 0; {
		time.Sleep(2 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	s.record(out.Bytes())
	var lostA []string
	for _, d := range s.srv.Devices() {
		if _, err := os.Stat(s.outfile(d.Name)); err != nil {
			lostA = append(lostA, d.Name)
		}
	}
	if len(lostA) == 0 {
		t.Fatalf("the killed apply left no seed-lost device in A:\n%s", lastLines(out.String(), 12))
	}
	intents := intentsUnder(t, s.dir)
	t.Logf("killed apply left %d device(s) in A without outfile %v and %d intent(s)", len(lostA), lostA, len(intents))

	// Account B: a colleague's devices with the same names and path.
	srvB := iamlocal.New(iamlocal.Options{Account: "222222222222"})
	urlB, err := srvB.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srvB.Close() })
	for _, name := range s.names {
		if err := srvB.CreateDevice(name, "/faults/"); err != nil {
			t.Fatal(err)
		}
	}
	before := seeds(srvB)
	localtest.UseEndpoint(t, urlB)

	plan, _ := s.mfabulk("plan", "-f", "m.yaml")
	for _, name := range s.names {
		if replaceLine(name).MatchString(plan) {
			t.Errorf("plan in account B proposes to replace %s on the strength of account A's intent", name)
		}
	}
	if !regexp.MustCompile(`(?i)intent|another account|111111111111`).MatchString(plan) {
		t.Errorf("plan in account B does not mention the intents left for another account:\n%s", plan)
	}
	applyOut, _ := s.mfabulk("apply", "-f", "m.yaml", "--auto-approve")
	checkUntouched(t, srvB, before)
	if n := srvB.Requests()["CreateVirtualMFADevice"]; n != 0 {
		t.Errorf("apply in account B made %d creates, want 0:\n%s", n, lastLines(applyOut, 12))
	}
	if left := intentsUnder(t, s.dir); len(left) != len(intents) {
		t.Errorf("the run against account B consumed A's intents: %d left of %d", len(left), len(intents))
	}

	// Back in A, plan still finds A's seed-lost devices.
	s.srv.SetFaults(iamlocal.Faults{})
	localtest.UseEndpoint(t, urlA)
	plan, _ = s.mfabulk("plan", "-f", "m.yaml")
	for _, name := range lostA {
		if !regexp.MustCompile(`(?m)~ replace\s+/faults/` + name + `\b.*seed lost`).MatchString(plan) {
			t.Errorf("back in account A, plan does not propose to replace seed-lost %s:\n%s", name, plan)
		}
	}
	s.converge(2)
	s.checkDurable()
	if left := intentsUnder(t, s.dir); len(left) > 0 {
		t.Errorf("intents left after convergence: %v", left)
	}
	s.leakScan()
}

// Defect 4: an intent that decodes to nothing ("null", "{}") proves
// nothing. A device of that name that exists in the account without an
// outfile is someone else's: plan must not propose to replace it, apply
// must not delete it.
func TestAttackEmptyIntent(t *testing.T) {
	for _, body := range []string{"null", "{}"} {
		t.Run(body, func(t *testing.T) {
			s := newScenario(t, iamlocal.Options{}, 2)
			if err := s.srv.CreateDevice("d000", "/faults/"); err != nil {
				t.Fatal(err)
			}
			before := seeds(s.srv)
			if err := os.Mkdir("out", 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join("out", ".d000.png.age.intent"), []byte(body+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			plan, _ := s.mfabulk("plan", "-f", "m.yaml")
			if replaceLine("d000").MatchString(plan) {
				t.Errorf("plan proposes to replace someone else's d000 on the strength of an intent %q:\n%s", body, plan)
			}
			s.mfabulk("apply", "-f", "m.yaml", "--auto-approve")
			checkUntouched(t, s.srv, before)
			s.leakScan()
		})
	}
}

// Defect 4: every input is bounded. A 400 MiB intent must not be read
// whole: plan's peak memory stays under 200 MiB. Both a sparse file (NUL
// bytes) and a dense one whose JSON never ends (a string that runs on)
// are tried; a decoder without a bound buffers the latter entirely.
func TestAttackHugeIntent(t *testing.T) {
	const size = 400 << 20
	for _, kind := range []string{"sparse", "dense"} {
		t.Run(kind, func(t *testing.T) {
			s := newScenario(t, iamlocal.Options{}, 2)
			if err := s.srv.CreateDevice("d000", "/faults/"); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir("out", 0o700); err != nil {
				t.Fatal(err)
			}
			intent := filepath.Join("out", ".d000.png.age.intent")
			f, err := os.OpenFile(intent, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			head := `{"device":"d000","path":"/faults/","account":"123456789012","action":"create","pad":"`
			if _, err := f.WriteString(head); err != nil {
				t.Fatal(err)
			}
			if kind == "sparse" {
				err = f.Truncate(size)
			} else {
				chunk := bytes.Repeat([]byte("a"), 1<<20)
				for written := len(head); written < size && err == nil; written += len(chunk) {
					_, err = f.Write(chunk)
				}
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatal(err)
			}

			cmd := subprocess("plan", "-f", "m.yaml")
			peakFile := filepath.Join(t.TempDir(), "peak")
			cmd.Env = append(cmd.Env, "MFABULK_TEST_PEAK_RSS_FILE="+peakFile)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// A safety net so that a plan stuck reading cannot stall the
			// suite; the assertion is on memory, not time.
			timer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
			cmd.Wait()
			if !timer.Stop() {
				t.Errorf("plan with a %s %d MiB intent was still reading after 30 s; killed", kind, size>>20)
			}
			s.record(out.Bytes())
			// The child's own peak (writePeakRSS): its rusage would count
			// this test process's, which it shares until it execs.
			peak, _ := os.ReadFile(peakFile)
			maxrss, err := strconv.ParseInt(strings.TrimSuffix(string(peak), " kB"), 10, 64) // KiB
			if err != nil {
				t.Fatalf("the child's peak RSS %q: %v", peak, err)
			}
			t.Logf("plan with a %s %d MiB intent: exit %d, peak RSS %d MiB", kind, size>>20, cmd.ProcessState.ExitCode(), maxrss>>10)
			if maxrss >= 200*1024 {
				t.Errorf("plan read a %s %d MiB intent into memory: peak RSS %d MiB, want < 200 MiB", kind, size>>20, maxrss>>10)
			}
			os.Remove(intent) // not read whole by the leak scan either
			s.leakScan()
		})
	}
}
