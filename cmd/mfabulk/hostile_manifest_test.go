//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal/localtest"
)

// bounded is how one run of mfabulk in a subprocess ended.
type bounded struct {
	out     string
	code    int
	maxRSS  int64 // KiB
	elapsed time.Duration
}

// runBounded runs mfabulk as a subprocess in dir and kills it after
// deadline, failing the test: a run that never returns must fail the
// test, not hang it. Outside the race detector (whose shadow memory
// needs terabytes of address space) the child also gets a 3 GiB address
// space limit, so that a regression dies rather than swapping the machine.
func runBounded(t *testing.T, dir string, deadline time.Duration, args ...string) bounded {
	t.Helper()
	cmd := subprocess(args...)
	if !raceEnabled {
		cmd.Args = append([]string{"prlimit", "--as=3221225472", os.Args[0]}, args...)
		path, err := exec.LookPath("prlimit")
		if err != nil {
			t.Fatalf("prlimit: %v", err)
		}
		cmd.Path = path
	}
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	peak := peakRSSOf(t, cmd)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(deadline):
		cmd.Process.Kill()
		<-done
		t.Fatalf("mfabulk %s did not return within %v; killed it. Output:\n%s", strings.Join(args, " "), deadline, lastLines(out.String(), 5))
	}
	b := bounded{out: out.String(), code: cmd.ProcessState.ExitCode(), elapsed: time.Since(start)}
	b.maxRSS = peak()
	return b
}

// TestManifestFIFO: a FIFO given as a manifest, or lying among a folder's
// manifests, is refused with an error naming it instead of blocking
// forever on the open, and plan stops before any AWS call.
func TestManifestFIFO(t *testing.T) {
	srv, _ := localtest.Start(t, iamlocal.Options{})
	dir := t.TempDir()
	id, _ := age.GenerateX25519Identity()
	valid := fmt.Sprintf("version: 1\ndevices:\n  - name: alice\n    recipients: [%s]\n", id.Recipient())
	os.Mkdir(filepath.Join(dir, "ms"), 0o755)
	os.WriteFile(filepath.Join(dir, "ms", "a.yaml"), []byte(valid), 0o644)
	for _, fifo := range []string{"fifo.yaml", "ms/x.yaml"} {
		if err := syscall.Mkfifo(filepath.Join(dir, fifo), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ arg, name string }{{"fifo.yaml", "fifo.yaml"}, {"ms", "ms/x.yaml"}} {
		t.Run(tc.arg, func(t *testing.T) {
			for _, cmd := range []string{"validate", "plan"} {
				r := runBounded(t, dir, 10*time.Second, cmd, "-f", tc.arg)
				if r.code != 1 || !strings.Contains(r.out, tc.name+": not a regular file") {
					t.Errorf("%s -f %s: exit %d, output:\n%s", cmd, tc.arg, r.code, r.out)
				}
			}
		})
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("AWS calls were made: %v", srv.Requests())
	}
}

// TestRecipientsFilesConfined: recipients files stay inside the manifest's
// folder, like outfiles, and no message quotes a line of a file that did
// not parse as a key: a manifest in a pull request must not be able to
// print the CI runner's files into the plan log.
func TestRecipientsFilesConfined(t *testing.T) {
	base := t.TempDir()
	dir, outside := filepath.Join(base, "repo"), filepath.Join(base, "runner")
	os.Mkdir(dir, 0o755)
	os.Mkdir(outside, 0o755)
	secret := "hunter2\nAKIAIOSFODNN7EXAMPLE\nwJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
	os.WriteFile(filepath.Join(outside, "credentials"), []byte(secret), 0o600)
	os.WriteFile(filepath.Join(dir, "notkeys.txt"), []byte("# looks like keys\n"+secret), 0o644)
	os.Symlink(filepath.Join(outside, "credentials"), filepath.Join(dir, "link.txt"))
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.Symlink(outside, filepath.Join(dir, "sub", "out"))
	m := fmt.Sprintf(`version: 1
devices:
  - name: a
    recipientsFiles: [%s]
  - name: b
    recipientsFiles: [../runner/credentials]
  - name: c
    recipientsFiles: [link.txt]
  - name: d
    recipientsFiles: [sub/out/credentials]
  - name: e
    recipientsFiles: [notkeys.txt]
  - name: f
    recipientsFiles: [sub/../notkeys.txt]
`, filepath.Join(outside, "credentials"))
	os.WriteFile(filepath.Join(dir, "m.yaml"), []byte(m), 0o644)

	r := runBounded(t, dir, time.Minute, "validate", "-f", "m.yaml")
	t.Logf("validate:\n%s", r.out)
	for _, leak := range []string{"hunter2", "AKIAIOSFODNN", "wJalrXUtnFEMI", "EXAMPLE"} {
		if strings.Contains(r.out, leak) {
			t.Errorf("validate printed %q from a file", leak)
		}
	}
	for _, want := range []string{
		"m.yaml:4:23: recipients file \"" + filepath.Join(outside, "credentials")[:40],
		"m.yaml:6:23: recipients file \"../runner/credentials\" must be a relative path inside the manifest's folder",
		"m.yaml:8:23: recipients file link.txt: leads outside the manifest's folder through a symbolic link",
		"m.yaml:10:23: recipients file sub/out/credentials: leads outside the manifest's folder through a symbolic link",
		"m.yaml:12:23: recipients file notkeys.txt, line 2: unknown recipient type: want an age key",
		"m.yaml:12:23: recipients file notkeys.txt, line 3: unknown recipient type",
		"m.yaml:14:23: recipients file \"sub/../notkeys.txt\" must be a relative path",
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("validate output lacks %q", want)
		}
	}

	j := runBounded(t, dir, time.Minute, "validate", "-f", "m.yaml", "-o", "json")
	var diags []struct{ Message, Rule string }
	if err := json.Unmarshal([]byte(j.out), &diags); err != nil {
		t.Fatalf("validate -o json: %v\n%s", err, j.out)
	}
	for _, leak := range []string{"hunter2", "AKIAIOSFODNN", "wJalrXUtnFEMI"} {
		if strings.Contains(j.out, leak) {
			t.Errorf("validate -o json printed %q from a file", leak)
		}
	}
}

// TestAmplificationBounded: manifests far smaller than the 4 MiB limit
// used to expand defaults into every device and re-read recipients files
// per device (1,000 default tags × 10,000 devices: 9.8 s, 1.3 GB). Now
// what devices share is worked out once, so validate stays within
// 300 MB. Times are logged, not asserted.
func TestAmplificationBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds manifests of up to 4 MiB")
	}
	dir := t.TempDir()
	write := func(name string, b *strings.Builder) {
		if b.Len() > 4<<20 {
			t.Fatalf("%s is %d bytes, over the 4 MiB limit", name, b.Len())
		}
		os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644)
	}
	key := func() string {
		id, _ := age.GenerateX25519Identity()
		return id.Recipient().String()
	}
	var keys strings.Builder
	var keyList []string
	for range 1000 {
		keyList = append(keyList, key())
		keys.WriteString(keyList[len(keyList)-1] + "\n")
	}
	write("keys.txt", &keys)
	tags := func(ntags, ndev int) *strings.Builder {
		var b strings.Builder
		fmt.Fprintf(&b, "version: 1\ndefaults:\n  recipients: [%s]\n  tags: {", key())
		for i := range ntags {
			fmt.Fprintf(&b, "k%d: v, ", i)
		}
		b.WriteString("}\ndevices:\n")
		for i := range ndev {
			fmt.Fprintf(&b, "- {name: d%d}\n", i)
		}
		return &b
	}
	write("tags1k.yaml", tags(1000, 10000))
	write("tags5k.yaml", tags(5000, 20000))
	var b strings.Builder
	b.WriteString("version: 1\ndefaults:\n  recipientsFiles: [keys.txt]\ndevices:\n")
	for i := range 10000 {
		fmt.Fprintf(&b, "- {name: d%d}\n", i)
	}
	write("keysdefaults.yaml", &b)
	b.Reset()
	b.WriteString("version: 1\ndevices:\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "- {name: d%d, recipientsFiles: [keys.txt]}\n", i)
	}
	write("keysdevices.yaml", &b)
	b.Reset()
	b.WriteString("version: 1\ndefaults:\n  recipientsFiles: [keys.txt]\ndevices:\n")
	for i := 0; b.Len() < 4<<20-200; i++ {
		// A distinct pair of the file's keys for each device: a distinct
		// list, without generating 30,000 keys (slow under -race).
		a := i % 1000
		fmt.Fprintf(&b, "- {name: d%d, recipients: [%s, %s]}\n", i, keyList[a], keyList[(a+1+i/1000)%1000])
	}
	write("keysown.yaml", &b)
	b.Reset()
	b.WriteString("version: 1\ndevices: [")
	for b.Len() < 4<<20-10 {
		b.WriteString("a,")
	}
	b.WriteString("a]\n")
	write("flowlist.yaml", &b)
	b.Reset()
	fmt.Fprintf(&b, "version: 1\ndefaults: {recipients: [%s]}\ndevices:\n", keyList[0])
	for i := 0; b.Len() < 4<<20-40; i++ {
		fmt.Fprintf(&b, "- {name: d%d}\n", i)
	}
	write("minimal.yaml", &b)
	b.Reset()
	fmt.Fprintf(&b, "version: 1\ndefaults: {recipients: [%s]}\ndevices:\n", keyList[0])
	for i := range 74_000 {
		fmt.Fprintf(&b, "- {name: d%d}\n", i)
	}
	write("justunder.yaml", &b)

	const limit = 300 << 10 // KiB
	for _, tc := range []struct {
		file string
		code int
	}{
		{"tags1k.yaml", 1}, // 1,000 default tags × 10,000 devices: over IAM's 50, once
		{"tags5k.yaml", 1}, // 5,000 × 20,000
		// A device is sealed to at most 256 keys (rule recipients-count):
		// these two are refused, with one problem, once every key is read.
		{"keysdefaults.yaml", 1}, // a 1,000-key recipients file in defaults × 10,000 devices
		{"keysdevices.yaml", 1},  // the same file named by each of 20,000 devices
		{"keysown.yaml", 1},      // that file plus a distinct pair of its keys for each of 28,000 devices
		{"flowlist.yaml", 1},     // 4 MiB of [a,a,a,…]: two million YAML nodes
		{"minimal.yaml", 1},      // 4 MiB of one-line devices: over MaxEntries
		{"justunder.yaml", 0},    // 74,000 one-line devices (148,000 entries), just under MaxEntries: the most that is parsed
	} {
		t.Run(tc.file, func(t *testing.T) {
			r := runBounded(t, dir, 5*time.Minute, "validate", "-f", tc.file)
			t.Logf("%s: %v, max RSS %d MiB, exit %d: %s", tc.file, r.elapsed.Round(time.Millisecond), r.maxRSS>>10, r.code, lastLines(r.out, 1))
			if r.code != tc.code {
				t.Errorf("exit %d, want %d:\n%s", r.code, tc.code, lastLines(r.out, 5))
			}
			if max := int64(limit * raceMemoryFactor); r.maxRSS > max {
				t.Errorf("max RSS %d KiB, want at most %d KiB", r.maxRSS, max)
			}
			if n := strings.Count(r.out, "\n"); n > 1010 {
				t.Errorf("%d lines of output: diagnostics are not bounded", n)
			}
		})
	}
}
