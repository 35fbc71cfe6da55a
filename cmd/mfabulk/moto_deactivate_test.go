package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/mfabulk/mfabulk/internal/reftools"
)

// TestMotoLostPhoneAndLeaver runs a team's lifecycle against moto_server
// (no tag calls, so no create-ID proof: the person names the device with
// --replace; EnableMFADevice accepts any codes, but assignment state is
// real): bob loses his phone and gets a new device in one apply, which
// deactivates the old one, deletes it, creates, seals and enables the new
// one (his MFA list shows only it, and his outfile decrypts, with Debian's
// age, to its new seed); carol leaves, and apply --prune
// --allow-deactivate deactivates and deletes her device.
func TestMotoLostPhoneAndLeaver(t *testing.T) {
	url := motoFolder(t)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(url) })
	mfa := func(user string) []string {
		t.Helper()
		out, err := client.ListMFADevices(ctx, &iam.ListMFADevicesInput{UserName: aws.String(user)})
		if err != nil {
			t.Fatal(err)
		}
		var serials []string
		for _, d := range out.MFADevices {
			serials = append(serials, aws.ToString(d.SerialNumber))
		}
		return serials
	}
	for _, u := range []string{"bob", "carol"} {
		if _, err := client.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(u)}); err != nil {
			t.Fatal(err)
		}
	}
	id, _ := age.GenerateX25519Identity()
	os.WriteFile("identity.txt", []byte(id.String()+"\n"), 0o600)
	head := "version: 1\nscope: {paths: [/team/]}\ndefaults:\n  path: /team/\n  user: \"{{.Name}}\"\n  bootstrap: Base32StringSeed\n  recipients: [" + id.Recipient().String() + "]\ndevices:\n  - name: bob\n"
	os.WriteFile("m.yaml", []byte(head+"  - name: carol\n"), 0o644)
	if out, code := runInProcess("apply", "-f", "m.yaml", "--auto-approve"); code != 0 || !strings.Contains(out, "2 enabled for their users") {
		t.Fatalf("apply exited %d:\n%s", code, lastLines(out, 10))
	}
	old := motoSecrets(t, url)["bob"].Base32StringSeed

	out, code := runInProcess("plan", "-f", "m.yaml", "--replace", "bob", "--detailed-exitcode")
	if code != 1 || !strings.Contains(out, "mfabulk deletes an assigned device only with --allow-deactivate") {
		t.Errorf("plan --replace bob without --allow-deactivate exited %d:\n%s", code, lastLines(out, 10))
	}
	out, code = runInProcess("apply", "-f", "m.yaml", "--replace", "bob", "--allow-deactivate", "--auto-approve")
	if code != 0 || !strings.Contains(out, "bob: deactivated for user bob, replaced, now ") || !strings.Contains(out, "enabled for user bob") {
		t.Fatalf("apply --replace bob --allow-deactivate exited %d:\n%s", code, lastLines(out, 10))
	}
	seed := motoSecrets(t, url)["bob"].Base32StringSeed
	if len(seed) == 0 || bytes.Equal(seed, old) {
		t.Errorf("bob's device still has its old seed")
	}
	if got := reftools.AgeDecrypt(t, "identity.txt", "out/bob.txt.age"); !bytes.Equal(got, seed) {
		t.Errorf("out/bob.txt.age does not decrypt to bob's new seed")
	}
	if got := mfa("bob"); len(got) != 1 || !strings.HasSuffix(got[0], "/team/bob") {
		t.Errorf("bob's MFA devices: %q, want only the new /team/bob", got)
	}
	if out, code := runInProcess("plan", "-f", "m.yaml", "--detailed-exitcode"); code != 0 {
		t.Errorf("plan after the replace exited %d:\n%s", code, lastLines(out, 10))
	}

	os.WriteFile("m.yaml", []byte(head), 0o644)
	out, code = runInProcess("plan", "-f", "m.yaml", "--prune", "--detailed-exitcode")
	if code != 0 || !strings.Contains(out, "! refused     /team/carol") {
		t.Errorf("plan --prune without --allow-deactivate exited %d:\n%s", code, lastLines(out, 10))
	}
	out, code = runInProcess("apply", "-f", "m.yaml", "--prune", "--allow-deactivate", "--auto-approve")
	if code != 0 || !strings.Contains(out, "carol: deactivated for user carol, deleted ") {
		t.Fatalf("apply --prune --allow-deactivate exited %d:\n%s", code, lastLines(out, 10))
	}
	if _, ok := motoSecrets(t, url)["carol"]; ok {
		t.Error("carol's device is still in the account")
	}
	if got := mfa("carol"); len(got) != 0 {
		t.Errorf("carol still has MFA devices %q", got)
	}
	if asides := asideFiles(t, "out/carol.txt.age"); len(asides) != 1 {
		t.Errorf("carol's outfile was not moved aside: %q", asides)
	}
	if out, code := runInProcess("plan", "-f", "m.yaml", "--prune", "--detailed-exitcode"); code != 0 {
		t.Errorf("plan --prune after the prune exited %d:\n%s", code, lastLines(out, 10))
	}
}
