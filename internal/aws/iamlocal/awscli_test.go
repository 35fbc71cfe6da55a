package iamlocal_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/reftools"
)

// TestAWSCLI proves iamlocal speaks the wire protocol real clients parse:
// the AWS CLI creates devices with --outfile and lists them.
func TestAWSCLI(t *testing.T) {
	aws := reftools.Require(t, "aws", "awscli")
	srv := iamlocal.New(iamlocal.Options{})
	url, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	run := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(aws, append([]string{"--endpoint-url", url, "--output", "json", "iam"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
			"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE="+filepath.Join(dir, "absent"), "AWS_PAGER=")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("aws iam %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return out
	}
	seedFile := filepath.Join(dir, "bob.txt")
	run("create-virtual-mfa-device", "--virtual-mfa-device-name", "bob", "--path", "/q4/",
		"--outfile", seedFile, "--bootstrap-method", "Base32StringSeed", "--tags", "Key=team,Value=payments")
	pngFile := filepath.Join(dir, "alice.png")
	run("create-virtual-mfa-device", "--virtual-mfa-device-name", "alice",
		"--outfile", pngFile, "--bootstrap-method", "QRCodePNG")

	bob, _ := srv.Device("bob")
	if got, _ := os.ReadFile(seedFile); !bytes.Equal(got, bob.Seed) {
		t.Errorf("the CLI's seed outfile %q is not the issued seed %q", got, bob.Seed)
	}
	alice, _ := srv.Device("alice")
	png, _ := os.ReadFile(pngFile)
	if !bytes.Equal(png, alice.QRCodePNG) {
		t.Error("the CLI's QR outfile is not the issued PNG")
	}
	if text := reftools.QRText(t, png); text != "otpauth://totp/alice@123456789012?secret="+string(alice.Seed) {
		t.Errorf("QR code says %q", text)
	}

	var list struct {
		VirtualMFADevices []struct {
			SerialNumber     string
			Base32StringSeed string
		}
	}
	if err := json.Unmarshal(run("list-virtual-mfa-devices", "--max-items", "1"), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.VirtualMFADevices) != 1 {
		t.Fatalf("--max-items 1 returned %d devices", len(list.VirtualMFADevices))
	}
	if err := json.Unmarshal(run("list-virtual-mfa-devices"), &list); err != nil {
		t.Fatal(err)
	}
	var serials []string
	for _, d := range list.VirtualMFADevices {
		serials = append(serials, d.SerialNumber)
		if d.Base32StringSeed != "" {
			t.Error("list returned a seed; IAM never does")
		}
	}
	want := "arn:aws:iam::123456789012:mfa/alice arn:aws:iam::123456789012:mfa/q4/bob"
	if strings.Join(serials, " ") != want {
		t.Errorf("listed %v, want %s", serials, want)
	}
	var tags struct{ Tags []struct{ Key, Value string } }
	json.Unmarshal(run("list-mfa-device-tags", "--serial-number", "arn:aws:iam::123456789012:mfa/q4/bob"), &tags)
	if len(tags.Tags) != 1 || tags.Tags[0].Key != "team" {
		t.Errorf("tags = %+v", tags.Tags)
	}
}
