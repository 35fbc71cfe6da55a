package iamlocal_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/reftools"
	"github.com/mfabulk/mfabulk/internal/totp"
)

// TestAWSCLIEnableMFADevice: the AWS CLI creates a user and a device,
// enables the device with two codes computed from the seed outfile, and
// lists it as assigned with its user; wrong codes get IAM's error.
func TestAWSCLIEnableMFADevice(t *testing.T) {
	aws := reftools.Require(t, "aws", "awscli")
	srv := iamlocal.New(iamlocal.Options{})
	url, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	cli := func(args ...string) ([]byte, string, error) {
		cmd := exec.Command(aws, append([]string{"--endpoint-url", url, "--output", "json", "iam"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
			"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE="+filepath.Join(dir, "absent"), "AWS_PAGER=",
			"AWS_MAX_ATTEMPTS=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		return out, stderr.String(), err
	}
	run := func(args ...string) []byte {
		t.Helper()
		out, stderr, err := cli(args...)
		if err != nil {
			t.Fatalf("aws iam %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return out
	}
	run("create-user", "--user-name", "alice", "--path", "/staff/")
	seedFile := filepath.Join(dir, "seed.txt")
	var created struct{ VirtualMFADevice struct{ SerialNumber string } }
	json.Unmarshal(run("create-virtual-mfa-device", "--virtual-mfa-device-name", "alice-phone",
		"--outfile", seedFile, "--bootstrap-method", "Base32StringSeed"), &created)
	serial := created.VirtualMFADevice.SerialNumber
	seed, err := os.ReadFile(seedFile)
	if err != nil {
		t.Fatal(err)
	}

	// A code that is certainly wrong: the current one, one digit changed.
	first, second, err := totp.Pair(seed, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wrong := string('0'+(second[0]-'0'+1)%10) + second[1:]
	_, stderr, err := cli("enable-mfa-device", "--user-name", "alice", "--serial-number", serial,
		"--authentication-code1", first, "--authentication-code2", wrong)
	if err == nil || !strings.Contains(stderr, "(InvalidAuthenticationCode)") || !strings.Contains(stderr, "Authentication code for the MFA device is not valid.") {
		t.Errorf("enable with a wrong code: %v\n%s", err, stderr)
	}

	// The server's clock is the real one: codes of now are within its window.
	first, second, err = totp.Pair(seed, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	run("enable-mfa-device", "--user-name", "alice", "--serial-number", serial,
		"--authentication-code1", first, "--authentication-code2", second)

	var list struct {
		VirtualMFADevices []struct {
			SerialNumber string
			User         struct{ UserName, Path, Arn string }
			EnableDate   string
		}
	}
	if err := json.Unmarshal(run("list-virtual-mfa-devices", "--assignment-status", "Assigned"), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.VirtualMFADevices) != 1 {
		t.Fatalf("Assigned lists %d devices, want 1", len(list.VirtualMFADevices))
	}
	d := list.VirtualMFADevices[0]
	if d.SerialNumber != serial || d.User.UserName != "alice" || d.User.Path != "/staff/" ||
		d.User.Arn != "arn:aws:iam::123456789012:user/staff/alice" || d.EnableDate == "" {
		t.Errorf("assigned device %+v", d)
	}
	if err := json.Unmarshal(run("list-virtual-mfa-devices", "--assignment-status", "Unassigned"), &list); err != nil || len(list.VirtualMFADevices) != 0 {
		t.Errorf("Unassigned lists %+v, %v", list.VirtualMFADevices, err)
	}
	var mfa struct {
		MFADevices []struct{ UserName, SerialNumber string }
	}
	if err := json.Unmarshal(run("list-mfa-devices", "--user-name", "alice"), &mfa); err != nil || len(mfa.MFADevices) != 1 || mfa.MFADevices[0].SerialNumber != serial {
		t.Errorf("list-mfa-devices: %+v, %v", mfa, err)
	}
	_, stderr, err = cli("delete-virtual-mfa-device", "--serial-number", serial)
	if err == nil || !strings.Contains(stderr, "(DeleteConflict)") {
		t.Errorf("delete of an assigned device: %v\n%s", err, stderr)
	}
	run("deactivate-mfa-device", "--user-name", "alice", "--serial-number", serial)
	run("delete-virtual-mfa-device", "--serial-number", serial)
}
