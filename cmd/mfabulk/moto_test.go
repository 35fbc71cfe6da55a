package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal/localtest"
	"github.com/mfabulk/mfabulk/internal/reftools"
)

// motoFolder runs Python moto's moto_server on a free loopback port for
// the test's lifetime, points mfabulk's endpoint at it, moves the test
// into a fresh folder, and returns moto's URL: every moto test starts so.
func motoFolder(t *testing.T) string {
	t.Helper()
	url := startMoto(t)
	t.Chdir(t.TempDir())
	localtest.UseEndpoint(t, url)
	return url
}

// startMoto runs moto_server and returns its URL.
func startMoto(t *testing.T) string {
	t.Helper()
	bin := reftools.Require(t, "moto_server", "python3 moto[server] (pip)")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var logs bytes.Buffer
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(url + "/moto-api/"); err == nil {
			resp.Body.Close()
			return url
		}
	}
	t.Fatalf("moto_server did not start on %s:\n%s", url, logs.String())
	return ""
}

// TestMotoServer applies a tagless 200-device manifest against moto_server
// in one run. moto's list call (unlike IAM's) returns each device's seed
// and QR bytes, so every outfile is checked against what moto issued.
func TestMotoServer(t *testing.T) {
	url := motoFolder(t)
	id, _ := age.GenerateX25519Identity()
	os.WriteFile("identity.txt", []byte(id.String()+"\n"), 0o600)
	const n = 200
	var m strings.Builder
	fmt.Fprintf(&m, "version: 1\ndefaults:\n  path: /moto/\n  recipients: [%s]\ndevices:\n", id.Recipient())
	for i := range n {
		bootstrap := "QRCodePNG"
		if i%2 == 1 {
			bootstrap = "Base32StringSeed"
		}
		fmt.Fprintf(&m, "  - {name: user%03d, bootstrap: %s}\n", i, bootstrap)
	}
	os.WriteFile("m.yaml", []byte(m.String()), 0o644)

	start := time.Now()
	out, code := runInProcess("apply", "-f", "m.yaml", "--auto-approve")
	t.Logf("apply of %d devices against moto_server: %v", n, time.Since(start))
	if code != 0 || !strings.Contains(out, fmt.Sprintf("Apply complete: %d created, 0 failed.", n)) {
		t.Fatalf("apply exited %d:\n%s", code, out)
	}

	issued := motoSecrets(t, url)
	if len(issued) != n {
		t.Fatalf("moto has %d devices, want %d", len(issued), n)
	}
	for i := range n {
		name := fmt.Sprintf("user%03d", i)
		file, want := "out/"+name+".png.age", issued[name].QRCodePNG
		if i%2 == 1 {
			file, want = "out/"+name+".txt.age", issued[name].Base32StringSeed
		}
		if got := reftools.AgeDecrypt(t, "identity.txt", file); !bytes.Equal(got, want) {
			t.Errorf("%s does not decrypt to the secret moto issued", file)
		}
	}

	out, code = runInProcess("plan", "-f", "m.yaml", "--detailed-exitcode")
	if code != 0 || !strings.HasPrefix(out, fmt.Sprintf("No changes. %d device(s)", n)) {
		t.Errorf("plan after apply exited %d:\n%s", code, out)
	}
}

func runInProcess(args ...string) (string, int) {
	var out bytes.Buffer
	code := run(context.Background(), args, IO{In: strings.NewReader(""), Out: &out, Err: &out})
	return out.String(), code
}

// motoSecrets lists moto's devices with the SDK, keyed by name.
func motoSecrets(t *testing.T, url string) map[string]struct{ Base32StringSeed, QRCodePNG []byte } {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	client := iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(url) })
	out := map[string]struct{ Base32StringSeed, QRCodePNG []byte }{}
	p := iam.NewListVirtualMFADevicesPaginator(client, &iam.ListVirtualMFADevicesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.VirtualMFADevices {
			name := (*d.SerialNumber)[strings.LastIndex(*d.SerialNumber, "/")+1:]
			out[name] = struct{ Base32StringSeed, QRCodePNG []byte }{d.Base32StringSeed, d.QRCodePNG}
		}
	}
	return out
}

// TestMotoReconcileAndPrune reconciles a tagless manifest with a scope
// against moto_server (which has no tag calls): a device made outside
// mfabulk inside the scope is pruned, one outside the scope is not, and
// the next plan is quiet.
func TestMotoReconcileAndPrune(t *testing.T) {
	url := motoFolder(t)
	os.WriteFile("m.yaml", []byte("version: 1\nscope: {paths: [/team/]}\ndefaults: {path: /team/, recipients: [age1rx5zrrd45u7mmgrrpjr5j2utf3fs7m7gl7twncerl5d96cmm53fs9avgcs]}\ndevices:\n  - name: a\n  - name: b\n"), 0o644)
	if out, code := runInProcess("apply", "-f", "m.yaml", "--auto-approve"); code != 0 {
		t.Fatalf("apply: %s", out)
	}
	cfg, _ := config.LoadDefaultConfig(context.Background())
	client := iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(url) })
	for _, d := range []struct{ name, path string }{{"stray", "/team/"}, {"elsewhere", "/other/"}} {
		if _, err := client.CreateVirtualMFADevice(context.Background(), &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String(d.name), Path: aws.String(d.path)}); err != nil {
			t.Fatal(err)
		}
	}
	out, code := runInProcess("plan", "-f", "m.yaml", "--prune", "--detailed-exitcode")
	if code != 2 || !strings.Contains(out, "- delete      /team/stray") || strings.Contains(out, "elsewhere") {
		t.Fatalf("plan --prune exited %d:\n%s", code, out)
	}
	if out, code = runInProcess("apply", "-f", "m.yaml", "--prune", "--auto-approve"); code != 0 || !strings.Contains(out, "1 deleted") {
		t.Fatalf("apply --prune exited %d:\n%s", code, out)
	}
	if out, code = runInProcess("plan", "-f", "m.yaml", "--prune", "--detailed-exitcode"); code != 0 {
		t.Errorf("plan after prune exited %d:\n%s", code, out)
	}
	if n := len(motoSecrets(t, url)); n != 3 {
		t.Errorf("moto has %d devices, want a, b and elsewhere", n)
	}
}

// TestMotoAssign enables 100 devices for 100 users against moto_server
// (whose EnableMFADevice accepts any codes, but whose users and assignment
// state are real): every device ends assigned to its user, and the next
// plan is a no-op.
func TestMotoAssign(t *testing.T) {
	url := motoFolder(t)
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	client := iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(url) })
	const n = 100
	var m strings.Builder
	fmt.Fprintf(&m, "version: 1\ndefaults:\n  path: /moto/\n  user: \"{{.Name}}\"\n  recipients: [age1rx5zrrd45u7mmgrrpjr5j2utf3fs7m7gl7twncerl5d96cmm53fs9avgcs]\ndevices:\n")
	for i := range n {
		name := fmt.Sprintf("person%03d", i)
		if _, err := client.CreateUser(context.Background(), &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&m, "  - name: %s\n", name)
	}
	os.WriteFile("m.yaml", []byte(m.String()), 0o644)
	start := time.Now()
	out, code := runInProcess("apply", "-f", "m.yaml", "--auto-approve")
	t.Logf("apply of %d devices with users against moto_server: %v", n, time.Since(start))
	if code != 0 || !strings.Contains(out, fmt.Sprintf("Apply complete: %d created, %d enabled for their users, 0 failed.", n, n)) {
		t.Fatalf("apply exited %d:\n%s", code, lastLines(out, 10))
	}
	right := 0
	p := iam.NewListVirtualMFADevicesPaginator(client, &iam.ListVirtualMFADevicesInput{AssignmentStatus: "Assigned"})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.VirtualMFADevices {
			if d.User != nil && strings.HasSuffix(*d.SerialNumber, "/moto/"+aws.ToString(d.User.UserName)) {
				right++
			}
		}
	}
	if right != n {
		t.Errorf("moto lists %d devices assigned to their users, want %d", right, n)
	}
	if out, code := runInProcess("plan", "-f", "m.yaml", "--detailed-exitcode"); code != 0 {
		t.Errorf("plan after apply exited %d:\n%s", code, lastLines(out, 10))
	}
}
