package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
)

// newStoreFolders makes k working copies of one manifest that names one
// store: k checkouts (or CI runners) of the same repository, each with
// its own folder and its own AWS access key ID (so that iamlocal's audit
// tells whose device a run deleted), all applying into one bucket. The
// person's identity is the same for all: the manifest is the same.
func (m *motoS3) newStoreFolders(t *testing.T, opts iamlocal.Options, k, n int) []*folder {
	t.Helper()
	s := m.scenario(t, opts, n)
	folders := []*folder{{scenario: s, key: "AKIDRUNNER0"}}
	for i := 1; i < k; i++ {
		f := &folder{scenario: &scenario{t: t, srv: s.srv, dir: t.TempDir(), names: s.names, store: s.store}, key: fmt.Sprintf("AKIDRUNNER%d", i)}
		for _, name := range []string{"m.yaml", "identity.txt"} {
			writeFile(t, filepath.Join(f.dir, name), string(mustRead(t, filepath.Join(s.dir, name))), 0o600)
		}
		folders = append(folders, f)
	}
	return folders
}

// storeCounts are the invariants of concurrent applies into one store,
// counted: each must be 0.
type storeCounts struct {
	foreignDeletes  int // deletes of a device another run created
	deletedSeeds    int // outfile objects holding the secret of a device no longer in the account
	wrongUnchanged  int // devices a plan calls unchanged whose outfile does not hold their live secret
	wrongConverged  int // after convergence: live devices whose outfile does not hold their live secret
	doubleCreated   int // devices created more than once (allowed: a create whose answer was lost)
	notLiveOutfiles int // outfiles, before convergence, not (yet) holding their live device's secret, all listed by every plan
}

func (c *storeCounts) add(o storeCounts) {
	c.foreignDeletes += o.foreignDeletes
	c.deletedSeeds += o.deletedSeeds
	c.wrongUnchanged += o.wrongUnchanged
	c.wrongConverged += o.wrongConverged
	c.doubleCreated += o.doubleCreated
	c.notLiveOutfiles += o.notLiveOutfiles
}

func (c storeCounts) String() string {
	return fmt.Sprintf("%d deletes of another run's device, %d outfiles holding a deleted device's secret, %d devices called unchanged without their live secret, %d converged devices without their live secret; %d devices created more than once, %d outfiles awaiting their device's secret (listed by every plan)",
		c.foreignDeletes, c.deletedSeeds, c.wrongUnchanged, c.wrongConverged, c.doubleCreated, c.notLiveOutfiles)
}

// TestStoreConcurrentApplies runs two, then three applies of one manifest
// from different folders into one bucket at once, under IAM faults (500s,
// 409s, creates committed whose answer is lost), as overlapping scheduled
// jobs on CI runners would. Counted over every run: 0 deletes of another
// run's device, 0 outfiles holding a deleted device's secret, 0 devices a
// plan calls unchanged whose outfile does not decrypt to their live
// secret, and once converged every outfile decrypts to its live device's
// secret. Seeds 1–3 of 40 devices; seed 1 of 20 with -short.
func TestStoreConcurrentApplies(t *testing.T) {
	seeds, devices := []int64{1, 2, 3}[:sample(3, 1)], sample(40, 20)
	m := startMotoS3(t)
	var total storeCounts
	trials := 0
	for _, k := range []int{2, 3} {
		for _, seed := range seeds {
			t.Run(fmt.Sprintf("runs=%d/seed=%d", k, seed), func(t *testing.T) {
				c := concurrentStore(t, m, k, seed, devices)
				total.add(c)
				trials++
			})
		}
	}
	t.Logf("%d trials of 2 and 3 concurrent applies into one bucket: %v", trials, total)
}

func concurrentStore(t *testing.T, m *motoS3, k int, seed int64, n int) storeCounts {
	folders := m.newStoreFolders(t, iamlocal.Options{Faults: iamlocal.Faults{
		Seed: seed, Latency: time.Millisecond, Jitter: 2 * time.Millisecond,
		ServiceFailure: 0.3, ConcurrentModification: 0.2, DropAfterCommit: 0.1,
	}}, k, n)
	// No run here is killed: a lease long enough that a loaded machine's
	// late renewals (moto one request at a time, CI's four test
	// processes) never run it out under a live run.
	t.Setenv("MFABULK_S3_LEASE", "1m")
	s := folders[0].scenario
	srv := s.srv

	var wg sync.WaitGroup
	start := time.Now()
	for _, f := range folders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, code := f.run("apply", "-f", "m.yaml", "--auto-approve")
			t.Logf("%s: apply exited %d: %s", f.key, code, applySummary(out))
		}()
	}
	wg.Wait()
	t.Logf("%d concurrent applies into s3://%s took %v; faults injected: %v", k, s.store.name, time.Since(start), srv.Injected())
	srv.SetFaults(iamlocal.Faults{})

	var c storeCounts
	c.deletedSeeds = s.countDeletedSeeds()
	listed := make([]map[string]string, len(folders))
	for i, f := range folders {
		listed[i] = map[string]string{}
		for _, ch := range f.plan().Changes {
			listed[i][ch.Device] = ch.Action + ": " + ch.Reason
		}
	}
	for _, d := range srv.Devices() {
		exists, matches := folders[0].holds(d)
		if exists && !matches {
			c.notLiveOutfiles++
		}
		for i, f := range folders {
			if _, ok := listed[i][d.Name]; ok || matches {
				continue
			}
			if c.wrongUnchanged++; c.wrongUnchanged <= 5 {
				t.Errorf("%s: plan calls %s unchanged, but its outfile (present: %v) does not hold its live secret", f.key, d.Name, exists)
			}
		}
	}
	for _, e := range srv.Audit() {
		if e.Action == "DeleteVirtualMFADevice" && e.Creator != "" && e.Creator != e.Key {
			if c.foreignDeletes++; c.foreignDeletes <= 5 {
				t.Errorf("%s deleted %s, which %s created", e.Key, e.Device, e.Creator)
			}
		}
	}
	created := map[string]int{}
	for _, d := range srv.Issued() {
		created[d.Name]++
	}
	for _, n := range created {
		if n > 1 {
			c.doubleCreated++
		}
	}

	// Whatever the runs left, a plain apply from a runner finishes it.
	s.converge(3)
	for _, d := range srv.Devices() {
		if _, matches := folders[0].holds(d); !matches {
			c.wrongConverged++
			t.Errorf("after convergence, %s's outfile does not decrypt to its live secret", d.Name)
		}
	}
	c.deletedSeeds += s.countDeletedSeeds()
	s.checkDurable()
	s.checkSettled()
	if c.deletedSeeds > 0 {
		t.Errorf("%d outfile object(s) hold a deleted device's secret", c.deletedSeeds)
	}
	t.Logf("%d live devices of %d: %v", len(srv.Devices()), n, c)
	for _, f := range folders {
		f.leakScan()
	}
	return c
}

// applySummary is apply's closing line, "Apply complete: …", or its
// error, or its last line.
func applySummary(out string) string {
	for _, mark := range []string{"Apply ", "mfabulk: error: "} {
		if i := strings.LastIndex(out, mark); i >= 0 {
			line, _, _ := strings.Cut(out[i:], "\n")
			return line
		}
	}
	return lastLines(out, 1)
}

// countDeletedSeeds counts the outfile objects of the store (not moved
// aside) that decrypt to the secret of a device IAM issued and no longer
// holds: an outfile a person would enroll from in vain.
func (s *scenario) countDeletedSeeds() int {
	s.t.Helper()
	live := map[string]bool{}
	for _, d := range s.srv.Devices() {
		live[string(d.Seed)] = true
	}
	n := 0
	for key, ciphertext := range s.store.outfileObjects(s.t) {
		plain := s.decrypt(ciphertext)
		for _, d := range s.srv.Issued() {
			if !live[string(d.Seed)] && bytes.Equal(plain, s.secretOf(d)) {
				n++
				s.t.Errorf("s3://%s/%s holds the secret of a deleted device %s", s.store.name, key, d.Name)
			}
		}
	}
	return n
}
