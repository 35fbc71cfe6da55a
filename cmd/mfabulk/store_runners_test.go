package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/failpoint"
)

// runner is a CI runner: a fresh checkout of the manifest, nothing else
// (the person's identity stays with the person), its own access key.
func (s *scenario) runner(key, manifest string) *folder {
	s.t.Helper()
	f := &folder{scenario: &scenario{t: s.t, srv: s.srv, dir: s.t.TempDir(), names: s.names, store: s.store}, key: key}
	writeFile(s.t, filepath.Join(f.dir, "m.yaml"), manifest, 0o644)
	return f
}

// runQuiet runs mfabulk in the folder as a user would, without --debug,
// and returns its standard output and standard error apart.
func (f *folder) runQuiet(args ...string) (stdout, stderr string, code int) {
	f.t.Helper()
	cmd := f.command(args...)
	cmd.Env = append(cmd.Env, "MFABULK_DEBUG=false")
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	f.record([]byte(out.String() + errb.String()))
	if err != nil && cmd.ProcessState == nil {
		f.t.Fatal(err)
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

// withoutDevices is a manifest without the lines of the named devices.
func withoutDevices(manifest string, names ...string) string {
	var keep []string
	for _, l := range strings.SplitAfter(manifest, "\n") {
		drop := false
		for _, n := range names {
			drop = drop || strings.Contains(l, "name: "+n+",")
		}
		if !drop {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "")
}

// TestThreeRunners is issue 21's story, each runner a fresh folder with
// only the manifest, as a CI runner starts from a clean checkout: runner
// A applies 10 devices into the store, and its folder is deleted; runner
// B, with the same manifest plus 3 devices, plans exactly 3 creates and 10
// unchanged, and applies; runner C runs the nightly `apply --auto-approve
// --quiet`: no output, exit 0. Every device the account holds has an
// outfile object that the Debian age CLI decrypts to its secret, and no
// runner's folder holds anything but its manifest.
func TestThreeRunners(t *testing.T) {
	s := newStoreScenario(t, iamlocal.Options{}, 13)
	full := string(mustRead(t, "m.yaml"))
	var transcript strings.Builder
	step := func(f *folder, who string, args ...string) (string, string, int) {
		stdout, stderr, code := f.runQuiet(args...)
		fmt.Fprintf(&transcript, "\n[%s] $ mfabulk %s\n%s%s[exit %d]\n", who, strings.Join(args, " "), stdout, stderr, code)
		return stdout, stderr, code
	}

	a := s.runner("AKIDRUNNERA", withoutDevices(full, "d010", "d011", "d012"))
	if out, _, code := step(a, "runner A, fresh folder, 10 devices", "apply", "-f", "m.yaml", "--auto-approve"); code != 0 || !strings.Contains(out, "Apply complete: 10 created, 0 failed.") {
		t.Fatalf("runner A's apply exited %d:\n%s", code, transcript.String())
	}
	a.checkOnlyManifest()
	if err := os.RemoveAll(a.dir); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&transcript, "\n[runner A's folder deleted]\n")

	b := s.runner("AKIDRUNNERB", full)
	out, _, code := step(b, "runner B, fresh folder, 13 devices", "plan", "-f", "m.yaml")
	if code != 0 || !strings.Contains(out, "Plan: 3 to create, 0 to replace, 0 to update tags, 0 to delete; 10 unchanged, 0 in conflict, 0 refused.") {
		t.Errorf("runner B's plan exited %d, want 3 to create and 10 unchanged:\n%s", code, transcript.String())
	}
	jsonOut, _, code := b.runQuiet("plan", "-f", "m.yaml", "-o", "json")
	var p jsonPlan
	if err := json.Unmarshal([]byte(jsonOut), &p); err != nil || code != 0 {
		t.Fatalf("runner B's plan -o json exited %d: %v", code, err)
	}
	creates := map[string]bool{}
	for _, c := range p.Changes {
		creates[c.Device] = c.Action == "create"
	}
	if p.Summary["create"] != 3 || p.Summary["unchanged"] != 10 || len(p.Changes) != 3 || !creates["d010"] || !creates["d011"] || !creates["d012"] {
		t.Errorf("runner B's plan -o json: summary %v, changes %v; want d010, d011 and d012 created, 10 unchanged", p.Summary, p.Changes)
	}
	if out, _, code := step(b, "runner B", "apply", "-f", "m.yaml", "--auto-approve"); code != 0 || !strings.Contains(out, "Apply complete: 3 created, 0 failed.") {
		t.Errorf("runner B's apply exited %d:\n%s", code, transcript.String())
	}
	b.checkOnlyManifest()

	c := s.runner("AKIDRUNNERC", full)
	if out, errOut, code := step(c, "runner C, fresh folder, nightly", "apply", "-f", "m.yaml", "--auto-approve", "--quiet"); code != 0 || out != "" || errOut != "" {
		t.Errorf("runner C's nightly apply exited %d, printed %q and %q; want 0 and nothing", code, out, errOut)
	}
	c.checkOnlyManifest()

	s.checkDurable()
	keys := s.store.keys(t)
	fmt.Fprintf(&transcript, "\n[the store, s3://%s/%s: %d objects; each of the %d devices' outfiles decrypts with age -d to its secret]\n", s.store.name, s.store.prefix, len(keys), len(s.srv.Devices()))
	for _, k := range keys {
		if strings.Contains(k, "d000") || strings.Contains(k, "d012") {
			fmt.Fprintf(&transcript, "  %s\n", k)
		}
	}
	t.Logf("three-runner transcript:%s", transcript.String())
	s.checkSettled()
	for _, f := range []*folder{a, b, c} {
		f.leakScan() // its folder (A's is gone), its output, every object version
	}
}

// checkOnlyManifest asserts that a runner's folder holds its manifest and
// nothing else: with a store, nothing of a device's is written locally.
func (f *folder) checkOnlyManifest() {
	f.t.Helper()
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "m.yaml" {
			f.t.Errorf("the runner's folder %s holds %s besides its manifest", f.dir, e.Name())
		}
	}
}

// leasePlan is the part of `plan -o json` the lease tests read.
type leasePlan struct {
	Changes []struct{ Action, Device, Reason string } `json:"changes"`
	Notices []struct {
		Device     string `json:"device"`
		InProgress bool   `json:"in_progress"`
	} `json:"notices"`
}

func (s *scenario) leasePlan() leasePlan {
	s.t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"plan", "-f", "m.yaml", "-o", "json"}, IO{In: strings.NewReader(""), Out: &out, Err: &errb})
	s.record(out.Bytes())
	s.record(errb.Bytes())
	if code != 0 {
		s.t.Fatalf("plan -o json exited %d:\n%s", code, lastLines(errb.String(), 10))
	}
	var p leasePlan
	if err := json.Unmarshal(out.Bytes(), &p); err != nil {
		s.t.Fatalf("plan -o json: %v", err)
	}
	return p
}

func (p leasePlan) inProgress(name string) bool {
	for _, n := range p.Notices {
		if n.Device == name && n.InProgress {
			return true
		}
	}
	return false
}

func (p leasePlan) action(name string) string {
	for _, c := range p.Changes {
		if c.Device == name {
			return c.Action + ": " + c.Reason
		}
	}
	return ""
}

// TestStoreLease: a run killed while it holds an intent leaves the intent
// in the store. Within its lease (MFABULK_S3_LEASE) plan shows the device
// in progress and apply leaves it alone; once the lease has expired, plan
// proposes to replace the device whose seed the killed run took with it,
// and apply takes the intent over. A live run's lease, renewed while its
// create hangs for longer than several leases, is never taken: a second
// apply meanwhile creates nothing.
func TestStoreLease(t *testing.T) {
	m := startMotoS3(t)
	t.Run("killed", func(t *testing.T) {
		s := m.scenario(t, iamlocal.Options{}, 2)
		const lease = 8 * time.Second
		t.Setenv("MFABULK_S3_LEASE", lease.String())
		if !s.killedAt(failpoint.Created, "apply", "-f", "m.yaml", "--auto-approve", "--parallelism", "1") {
			t.FailNow()
		}
		killed := time.Now()
		old, ok := s.srv.Device("d000")
		if !ok || len(s.store.intents(t)) != 1 {
			t.Fatalf("the killed run left device d000 %v and intents %q", ok, s.store.intents(t))
		}
		p := s.leasePlan()
		if !p.inProgress("d000") || p.action("d000") != "" {
			t.Errorf("within the lease, plan does not show d000 in progress (notices %v) or acts on it (%q)", p.Notices, p.action("d000"))
		}
		out, _ := s.mfabulk("apply", "-f", "m.yaml", "--auto-approve")
		if now, _ := s.srv.Device("d000"); string(now.Seed) != string(old.Seed) || len(s.store.intents(t)) == 0 {
			t.Errorf("an apply within the lease acted on d000, whose intent the killed run holds:\n%s", lastLines(out, 10))
		}
		if since := time.Since(killed); since > lease {
			t.Fatalf("the checks within the lease took %v, longer than the lease: the machine is too slow for this test", since)
		}

		time.Sleep(time.Until(killed.Add(lease + time.Second)))
		p = s.leasePlan()
		if p.inProgress("d000") || !strings.HasPrefix(p.action("d000"), "replace") {
			t.Errorf("after the lease, plan does not propose to replace d000 (%q; notices %v)", p.action("d000"), p.Notices)
		}
		s.converge(2)
		if now, _ := s.srv.Device("d000"); string(now.Seed) == string(old.Seed) {
			t.Errorf("d000, whose seed the killed run lost, was not replaced")
		}
		s.checkDurable()
		s.checkSettled()
		s.leakScan()
	})

	t.Run("live", func(t *testing.T) {
		s := m.scenario(t, iamlocal.Options{}, 1)
		t.Setenv("AWS_MAX_ATTEMPTS", "1")
		t.Setenv("MFABULK_READ_TIMEOUT", (2*testLease + 4*time.Second).String())
		t.Setenv("MFABULK_CALL_TIMEOUT", "60s")
		s.srv.SetFaults(iamlocal.Faults{Hang: 1, HangActions: []string{"CreateVirtualMFADevice"}})
		a, out := startChildEnv(t, []string{"AWS_ACCESS_KEY_ID=AKIDLIVE"}, "apply", "-f", "m.yaml", "--auto-approve")
		if !waitFor(20*time.Second, func() bool { return s.srv.Requests()["CreateVirtualMFADevice"] == 1 }) {
			a.Process.Kill()
			t.Fatalf("the live run never created:\n%s", out.String())
		}
		// Two leases later, the live run is still waiting for IAM, and has
		// renewed its lease all along.
		time.Sleep(2 * testLease)
		second, code := s.mfabulk("apply", "-f", "m.yaml", "--auto-approve")
		if n := s.srv.Requests()["CreateVirtualMFADevice"]; n != 1 {
			t.Errorf("an apply during a live run's create took its intent over: %d creates (exit %d):\n%s", n, code, lastLines(second, 10))
		}
		if !regexp.MustCompile(`(?i)in progress|working on it`).MatchString(second) {
			t.Errorf("the second apply does not say d000 is being worked on:\n%s", lastLines(second, 10))
		}
		codeA, _ := waitExit(t, a, 60*time.Second)
		s.record([]byte(out.String()))
		t.Logf("the live run, its create held by IAM: exit %d: %s", codeA, lastLines(out.String(), 1))
		s.srv.SetFaults(iamlocal.Faults{})
		s.afterKill()
		s.converge(2)
		s.checkDurable()
		s.checkSettled()
		s.leakScan()
	})
}
