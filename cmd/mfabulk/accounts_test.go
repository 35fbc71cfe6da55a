package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal/localtest"
	"github.com/mfabulk/mfabulk/internal/reftools"
)

// writeAccountManifests writes, in folder dir, one manifest per account
// (role line as given) of n devices named dev000… with outfiles under
// out/ACCOUNT/, sealed to recipient.
func writeAccountManifests(t *testing.T, dir, recipient string, n int, roles map[string]string) {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	for acct, role := range roles {
		var m strings.Builder
		fmt.Fprintf(&m, "version: 1\naccount: %q\n%s\ndefaults:\n  path: /acct/\n  bootstrap: Base32StringSeed\n  outfile: out/%s/{{.Name}}{{.Ext}}.age\n  recipients: [%s]\ndevices:\n", acct, role, acct, recipient)
		for i := range n {
			fmt.Fprintf(&m, "  - name: dev%03d\n", i)
		}
		if err := os.WriteFile(filepath.Join(dir, acct+".yaml"), []byte(m.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestThreeAccountsAssumeRole applies manifests for three accounts in one
// run, each reached through its role on iamlocal, the third's role refused
// (wrong external ID): it fails alone, the run exits 1, the other two hold
// exactly their devices (the same names in each), every outfile decrypts
// with age -d to the seed its account issued, and the next plan of the two
// is a no-op.
func TestThreeAccountsAssumeRole(t *testing.T) {
	const a, b, c = "111111111111", "222222222222", "333333333333"
	srv, _ := localtest.Start(t, iamlocal.Options{Roles: []iamlocal.Role{
		{ARN: "arn:aws:iam::" + a + ":role/mfabulk"},
		{ARN: "arn:aws:iam::" + b + ":role/mfabulk", ExternalID: "b-secret"},
		{ARN: "arn:aws:iam::" + c + ":role/mfabulk", ExternalID: "c-secret"},
	}})
	t.Chdir(t.TempDir())
	id, _ := age.GenerateX25519Identity()
	os.WriteFile("identity.txt", []byte(id.String()+"\n"), 0o600)
	const n = 5
	writeAccountManifests(t, "m", id.Recipient().String(), n, map[string]string{
		a: "", // from --role's template
		b: "role: {arn: \"arn:aws:iam::" + b + ":role/mfabulk\", externalId: b-secret, sessionName: ci-run}",
		c: "role: {arn: \"arn:aws:iam::" + c + ":role/mfabulk\", externalId: wrong}",
	})

	out, code := runInProcess("apply", "-f", "m", "--role", "arn:aws:iam::{{.Account}}:role/mfabulk", "--auto-approve")
	if code != 1 {
		t.Fatalf("apply exited %d, want 1 (account %s's role is refused):\n%s", code, c, out)
	}
	for _, want := range []string{
		"── account " + c + " (role arn:aws:iam::" + c + ":role/mfabulk) ──\nError: assuming role arn:aws:iam::" + c + ":role/mfabulk",
		"AccessDenied",
		"Total: 3 account(s) (1 failed): 10 to create",
		fmt.Sprintf("── account %s ──\n\nApply complete: %d created, 0 failed.", a, n),
		fmt.Sprintf("── account %s ──\n\nApply complete: %d created, 0 failed.", b, n),
		"Total: 3 account(s), 1 failed; 10 device(s) created, 0 device(s) failed.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("apply output lacks %q:\n%s", want, out)
		}
	}
	for _, acct := range []string{a, b} {
		devs := srv.Account(acct).Devices()
		if len(devs) != n {
			t.Errorf("account %s holds %d devices, want %d", acct, len(devs), n)
		}
		for _, d := range devs {
			if !strings.HasPrefix(d.Serial, "arn:aws:iam::"+acct+":mfa/acct/") {
				t.Errorf("account %s holds %s", acct, d.Serial)
			}
			file := filepath.Join("m", "out", acct, d.Name+".txt.age")
			if got := reftools.AgeDecrypt(t, "identity.txt", file); !bytes.Equal(got, d.Seed) {
				t.Errorf("%s does not decrypt to the seed account %s issued", file, acct)
			}
		}
	}
	if n := len(srv.Account(c).Devices()) + len(srv.Devices()); n != 0 {
		t.Errorf("account %s and the base account hold %d devices, want 0", c, n)
	}
	if _, err := os.Stat(filepath.Join("m", "out", c)); !os.IsNotExist(err) {
		t.Errorf("out/%s exists (%v): the refused account wrote something", c, err)
	}

	os.Remove(filepath.Join("m", c+".yaml"))
	out, code = runInProcess("plan", "-f", "m", "--role", "arn:aws:iam::{{.Account}}:role/mfabulk", "--detailed-exitcode")
	if code != 0 || !strings.Contains(out, "Total: 2 account(s) (0 failed): 0 to create, 0 to replace, 0 to update tags, 0 to delete; 10 unchanged") {
		t.Errorf("plan after apply exited %d, want 0 and no changes:\n%s", code, out)
	}
	out, code = runInProcess("plan", "-f", "m", "--role", "arn:aws:iam::{{.Account}}:role/mfabulk", "--target", b+"/dev001", "-o", "json")
	if code != 0 || !strings.Contains(out, `"format_version": "2"`) || !strings.Contains(out, `"status": "not targeted"`) {
		t.Errorf("plan --target %s/dev001 -o json exited %d:\n%s", b, code, out)
	}
}

// TestMotoAccounts applies 3 accounts × 50 devices against moto_server,
// each account reached through AssumeRole (moto's temporary credentials
// act in the role's account): each account holds exactly its devices, and
// the next plan is a no-op.
func TestMotoAccounts(t *testing.T) {
	url := motoFolder(t)
	accounts := []string{"111111111111", "222222222222", "333333333333"}
	roles := map[string]string{}
	for _, a := range accounts {
		roles[a] = "role: \"arn:aws:iam::" + a + ":role/mfabulk\""
	}
	const n = 50
	writeAccountManifests(t, "m", "age1rx5zrrd45u7mmgrrpjr5j2utf3fs7m7gl7twncerl5d96cmm53fs9avgcs", n, roles)
	out, code := runInProcess("apply", "-f", "m", "--auto-approve")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("Total: 3 account(s), 0 failed; %d device(s) created, 0 device(s) failed.", 3*n)) {
		t.Fatalf("apply exited %d:\n%s", code, lastLines(out, 30))
	}
	for _, a := range accounts {
		c := assumedIAM(t, url, "arn:aws:iam::"+a+":role/mfabulk")
		serials := listSerials(t, c)
		if len(serials) != n {
			t.Errorf("account %s holds %d devices, want %d", a, len(serials), n)
		}
		for _, s := range serials {
			if !strings.HasPrefix(s, "arn:aws:iam::"+a+":mfa/acct/dev") {
				t.Errorf("account %s holds %s", a, s)
			}
		}
	}
	if out, code := runInProcess("plan", "-f", "m", "--detailed-exitcode"); code != 0 || !strings.Contains(out, fmt.Sprintf("Total: 3 account(s) (0 failed): 0 to create, 0 to replace, 0 to update tags, 0 to delete; %d unchanged", 3*n)) {
		t.Errorf("plan after apply exited %d:\n%s", code, lastLines(out, 10))
	}
}

// assumedIAM is the SDK's IAM client acting through role, assumed with
// stscreds from the test's base credentials.
func assumedIAM(t *testing.T, url, role string) *iam.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithBaseEndpoint(url))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), role))
	// The standard retryer, with mfabulk's 10 attempts: under -race and a
	// rate-limited account, the SDK now and then reads from a connection
	// net/http closed (aws/aws-sdk-go-v2#2737), which it retries, and three
	// attempts were once not enough.
	cfg.Retryer = func() aws.Retryer { return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 10 }) }
	return iam.NewFromConfig(cfg)
}

func listSerials(t *testing.T, c *iam.Client) []string {
	t.Helper()
	var out []string
	p := iam.NewListVirtualMFADevicesPaginator(c, &iam.ListVirtualMFADevicesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.VirtualMFADevices {
			out = append(out, aws.ToString(d.SerialNumber))
		}
	}
	return out
}

// TestScaleAccounts applies 50 accounts × 100 devices on iamlocal, each
// account rate-limited to 20 requests a second (its own token bucket, as
// IAM's limits are per account) and reached through its role: every
// device is created, in its account, with none failed. It asserts no
// time: the aggregate rate is measured by hand (make bench-accounts).
//
// iamlocal and mfabulk run as processes of their own: in this one (under
// the race detector, 2 GiB for the server alone) they would raise the
// peak RSS that later tests' children inherit at exec, and that those
// tests bound.
//
// With -short, 10 accounts × 20 devices: each still through its role,
// rate-limited and applied in parallel.
func TestScaleAccounts(t *testing.T) {
	accounts, n := sample(50, 10), sample(100, 20)
	goBin := reftools.Require(t, "go", "golang")
	iamBin := filepath.Join(t.TempDir(), "iamlocal")
	if out, err := exec.Command(goBin, "build", "-o", iamBin, "github.com/mfabulk/mfabulk/cmd/iamlocal").CombinedOutput(); err != nil {
		t.Fatalf("building iamlocal: %v\n%s", err, out)
	}
	urlFile := filepath.Join(t.TempDir(), "url")
	iam := exec.Command(iamBin, "-any-role", "-rate", "20", "-burst", "20", "-url-file", urlFile)
	if err := iam.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { iam.Process.Kill(); iam.Wait() })
	var url []byte
	for range 600 {
		if url, _ = os.ReadFile(urlFile); len(url) > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(url) == 0 {
		t.Fatal("iamlocal did not start")
	}
	localtest.UseEndpoint(t, strings.TrimSpace(string(url)))
	t.Chdir(t.TempDir())
	roles := map[string]string{}
	for i := range accounts {
		roles[fmt.Sprintf("%012d", 100000000000+i)] = ""
	}
	writeAccountManifests(t, "m", "age1rx5zrrd45u7mmgrrpjr5j2utf3fs7m7gl7twncerl5d96cmm53fs9avgcs", n, roles)
	cmd := subprocess("apply", "-f", "m", "--role", "arn:aws:iam::{{.Account}}:role/mfabulk", "--accounts-parallelism", fmt.Sprint(accounts), "--auto-approve")
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	err := cmd.Run()
	if out := b.String(); err != nil || !strings.Contains(out, fmt.Sprintf("Total: %d account(s), 0 failed; %d device(s) created, 0 device(s) failed.", accounts, accounts*n)) {
		t.Fatalf("apply: %v:\n%s", err, lastLines(out, 30))
	}
	for acct := range roles {
		if serials := listSerials(t, assumedIAM(t, strings.TrimSpace(string(url)), "arn:aws:iam::"+acct+":role/mfabulk")); len(serials) != n {
			t.Errorf("account %s holds %d devices, want %d", acct, len(serials), n)
		}
	}
}

// TestAccountsSavedPlan saves a plan of two accounts and applies it; a
// change in either account since makes the whole saved plan stale, and
// nothing is changed in the other.
func TestAccountsSavedPlan(t *testing.T) {
	const a, b = "111111111111", "222222222222"
	srv, _ := localtest.Start(t, iamlocal.Options{AnyRole: true})
	t.Chdir(t.TempDir())
	writeAccountManifests(t, "m", "age1rx5zrrd45u7mmgrrpjr5j2utf3fs7m7gl7twncerl5d96cmm53fs9avgcs", 3, map[string]string{a: "", b: ""})
	role := "arn:aws:iam::{{.Account}}:role/mfabulk"

	if out, code := runInProcess("plan", "-f", "m", "--role", role, "--out", "plan.json"); code != 0 || !strings.Contains(out, "Saved the plan of 2 accounts to plan.json") {
		t.Fatalf("plan --out exited %d:\n%s", code, out)
	}
	if out, code := runInProcess("show-plan", "plan.json"); code != 0 || !strings.Contains(out, "Total: 2 account(s) (0 failed): 6 to create") {
		t.Errorf("show-plan exited %d:\n%s", code, out)
	}
	// Account b changes after the plan: the plan is stale, nothing is done.
	srv.Account(b).CreateDevice("intruder", "/acct/")
	// The role decides which credentials act: the operator names it too.
	out, code := runInProcess("apply", "plan.json", "-f", "m")
	if code != 1 || !strings.Contains(out, "saved plan plan.json assumes role template "+role+", which the command line does not name") {
		t.Errorf("apply of a saved plan without its --role exited %d:\n%s", code, out)
	}
	out, code = runInProcess("apply", "plan.json", "-f", "m", "--role", role)
	if code != 1 || !strings.Contains(out, "saved plan is stale: account "+b+": IAM device arn:aws:iam::"+b+":mfa/acct/intruder added") || strings.Contains(out, "account "+a+":") {
		t.Errorf("apply of a stale plan exited %d:\n%s", code, out)
	}
	if n := len(srv.Account(a).Devices()); n != 0 {
		t.Errorf("account %s holds %d devices after a refused apply, want 0", a, n)
	}

	if out, code := runInProcess("plan", "-f", "m", "--role", role, "--out", "plan.json"); code != 0 {
		t.Fatalf("plan --out exited %d:\n%s", code, out)
	}
	out, code = runInProcess("apply", "plan.json", "-f", "m", "--role", role)
	if code != 0 || !strings.Contains(out, "Total: 2 account(s), 0 failed; 6 device(s) created, 0 device(s) failed.") {
		t.Errorf("apply of the saved plan exited %d:\n%s", code, out)
	}
}
