package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
)

// A folder is one working copy of the manifest, as another machine or
// another checkout running the same cron job would have: its own folder,
// its own age identity, and its own AWS access key ID, so that iamlocal's
// audit can tell which run made and deleted which device. It shares the
// account (iamlocal) of the scenario it was made from.
type folder struct {
	*scenario
	key string // AWS_ACCESS_KEY_ID of this folder's runs
}

// newFolders makes k folders on one account of n devices; the first is
// the scenario's own folder.
func newFolders(t *testing.T, opts iamlocal.Options, k, n int) []*folder {
	t.Helper()
	s := newScenario(t, opts, n)
	folders := []*folder{{scenario: s, key: "AKIDFOLDER0"}}
	for i := 1; i < k; i++ {
		f := &folder{scenario: &scenario{t: t, srv: s.srv, dir: t.TempDir(), names: s.names}, key: fmt.Sprintf("AKIDFOLDER%d", i)}
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		manifest, err := os.ReadFile(filepath.Join(s.dir, "m.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		own, _ := age.ParseX25519Identity(strings.TrimSpace(string(mustRead(t, filepath.Join(s.dir, "identity.txt")))))
		manifest = bytes.ReplaceAll(manifest, []byte(own.Recipient().String()), []byte(id.Recipient().String()))
		writeFile(t, filepath.Join(f.dir, "identity.txt"), id.String()+"\n", 0o600)
		writeFile(t, filepath.Join(f.dir, "m.yaml"), string(manifest), 0o644)
		folders = append(folders, f)
	}
	return folders
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, name, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// command is mfabulk as a subprocess run in the folder with its key.
func (f *folder) command(args ...string) *exec.Cmd {
	cmd := subprocess(args...)
	cmd.Dir = f.dir
	cmd.Env = append(cmd.Env, "AWS_ACCESS_KEY_ID="+f.key)
	return cmd
}

// run runs mfabulk in the folder and records what it printed.
func (f *folder) run(args ...string) (stdout string, code int) {
	f.t.Helper()
	var out, errb bytes.Buffer
	cmd := f.command(args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	f.record(out.Bytes())
	f.record(errb.Bytes())
	// stderr first: --debug's lines are there, and the summary is the
	// last line of stdout.
	if ee, ok := err.(*exec.ExitError); ok {
		return errb.String() + out.String(), ee.ExitCode()
	} else if err != nil {
		f.t.Fatal(err)
	}
	return errb.String() + out.String(), 0
}

// noOutfileRE is how a mismatch's reason says the folder has no outfile
// for the device.
var noOutfileRE = regexp.MustCompile(`no outfile|outfile is not here`)

// jsonPlan is the part of `plan -o json` these tests read.
type jsonPlan struct {
	Summary map[string]int `json:"summary"`
	Changes []struct {
		Action, Device, Reason string
	} `json:"changes"`
}

func (f *folder) plan() jsonPlan {
	f.t.Helper()
	var out, errb bytes.Buffer
	cmd := f.command("plan", "-f", "m.yaml", "-o", "json")
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		f.t.Fatalf("plan in %s: %v\n%s", f.dir, err, lastLines(errb.String(), 10))
	}
	f.record(errb.Bytes())
	f.record(out.Bytes())
	var p jsonPlan
	if err := json.Unmarshal(out.Bytes(), &p); err != nil {
		f.t.Fatalf("plan -o json in %s: %v", f.dir, err)
	}
	return p
}

// holds reports whether the folder's outfile for d (its store's, when it
// has one) decrypts, with the reference age CLI, to the secret IAM issued
// for d.
func (f *folder) holds(d iamlocal.Device) (exists, matches bool) {
	ciphertext, ok := f.outfileBytes(d.Name)
	if !ok {
		return false, false
	}
	return true, bytes.Equal(f.decrypt(ciphertext), f.secretOf(d))
}

// TestConcurrentFoldersFaultStorm runs two, then three applies of one
// manifest from different folders at once, under IAM faults (500s, 409s,
// and creates committed whose answer is lost), as overlapping cron jobs on
// two machines would. Whatever interleaving happens, no run may delete a
// device another run created, and no folder's plan may call a device
// unchanged unless its outfile there holds that device's live secret:
// every other folder must see the device listed (mismatch, replace or
// create), never silently wrong. With -short, seed 1 only, for two
// folders and for three.
func TestConcurrentFoldersFaultStorm(t *testing.T) {
	const devices = 60
	seeds := []int64{1, 2, 3}[:sample(3, 1)]
	var totalForeign, totalWrong, totalDouble int
	for _, k := range []int{2, 3} {
		for _, seed := range seeds {
			t.Run(fmt.Sprintf("folders=%d/seed=%d", k, seed), func(t *testing.T) {
				foreign, wrong, double := concurrentFolders(t, k, seed, devices)
				totalForeign += foreign
				totalWrong += wrong
				totalDouble += double
			})
		}
	}
	t.Logf("in all: %d deletes of another run's device, %d unchanged devices whose outfile is missing or holds another secret, %d devices created more than once",
		totalForeign, totalWrong, totalDouble)
}

func concurrentFolders(t *testing.T, k int, seed int64, n int) (foreign, wrong, double int) {
	folders := newFolders(t, iamlocal.Options{Faults: iamlocal.Faults{
		Seed: seed, Latency: time.Millisecond, Jitter: 2 * time.Millisecond,
		ServiceFailure: 0.3, ConcurrentModification: 0.2, DropAfterCommit: 0.1,
	}}, k, n)
	srv := folders[0].srv

	var wg sync.WaitGroup
	start := time.Now()
	for _, f := range folders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, code := f.run("apply", "-f", "m.yaml", "--auto-approve")
			t.Logf("%s: apply exited %d: %s", f.key, code, lastLines(out, 1))
		}()
	}
	wg.Wait()
	t.Logf("%d concurrent applies took %v; faults injected: %v", k, time.Since(start), srv.Injected())

	srv.SetFaults(iamlocal.Faults{})
	plans := make([]jsonPlan, len(folders))
	listed := make([]map[string][2]string, len(folders)) // device → action, reason
	for i, f := range folders {
		plans[i] = f.plan()
		listed[i] = map[string][2]string{}
		for _, c := range plans[i].Changes {
			listed[i][c.Device] = [2]string{c.Action, c.Reason}
		}
	}

	actions := map[string]int{}
	mismatchedOutfiles := 0 // outfiles, anywhere, not holding the live secret
	for _, d := range srv.Devices() {
		for i, f := range folders {
			exists, matches := f.holds(d)
			if exists && !matches {
				mismatchedOutfiles++
			}
			if c, ok := listed[i][d.Name]; ok {
				actions[c[0]]++
				// A mismatch says why: the folder has no outfile for
				// the device, or one of an earlier device of its name.
				switch {
				case c[0] != "mismatch":
				case !exists && !noOutfileRE.MatchString(c[1]):
					t.Errorf("%s: %s has no outfile here, but the mismatch says %q", f.key, d.Name, c[1])
				case exists && !matches && !strings.Contains(c[1], "earlier device"):
					t.Errorf("%s: %s's outfile here holds an earlier device's secret, but the mismatch says %q", f.key, d.Name, c[1])
				}
				continue
			}
			actions["unchanged"]++
			if !matches {
				if wrong++; wrong > 5 {
					continue
				}
				what := "has no outfile"
				if exists {
					what = "has an outfile holding another device's secret"
				}
				t.Errorf("%s: plan calls %s unchanged, but the folder %s", f.key, d.Name, what)
			}
		}
	}
	created := map[string]int{}
	for _, d := range srv.Issued() {
		created[d.Name]++
	}
	for _, c := range created {
		if c > 1 {
			double++
		}
	}
	for _, e := range srv.Audit() {
		if e.Action == "DeleteVirtualMFADevice" && e.Creator != "" && e.Creator != e.Key {
			if foreign++; foreign <= 5 {
				t.Errorf("%s deleted %s, which %s created", e.Key, e.Device, e.Creator)
			}
		}
	}
	if wrong > 5 || foreign > 5 {
		t.Errorf("(%d unchanged devices without their secret and %d deletes of another run's device in all)", wrong, foreign)
	}
	if got := srv.ForeignDeletes(); got != foreign {
		t.Errorf("ForeignDeletes() = %d, the audit lists %d", got, foreign)
	}
	t.Logf("%d live devices of %d; per folder and device, plans say %v; %d outfiles hold another secret; %d devices created more than once; %d deletes of another run's device",
		len(srv.Devices()), n, actions, mismatchedOutfiles, double, foreign)

	// A mismatch is a change a person must resolve, which apply would
	// leave unfinished: a cron job's plan --detailed-exitcode says so with
	// 1, as for a plan apply would refuse (issue 20).
	for i, f := range folders {
		if plans[i].Summary["mismatch"] > 0 {
			if _, code := f.run("plan", "-f", "m.yaml", "--detailed-exitcode"); code != 1 {
				t.Errorf("%s: plan --detailed-exitcode exited %d with %d mismatch(es), want 1", f.key, code, plans[i].Summary["mismatch"])
			}
			break
		}
	}
	for _, f := range folders {
		f.leakScan()
	}
	return foreign, wrong, double
}
