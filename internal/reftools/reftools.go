// Package reftools runs the reference tools that tests check mfabulk's
// output with: the age CLI, zbarimg (QR decoding), oathtool (TOTP codes),
// moto_server and the AWS CLI. A test that needs an absent tool is skipped with a loud reason,
// except when MFABULK_REQUIRE_TOOLS=1 (as CI sets it), where it fails.
//
// Decrypted secrets are passed through pipes, never through files, so the
// tests themselves leave no plaintext on disk.
package reftools

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// T is the part of testing.TB (and of testscript's TestScript) used here.
type T interface {
	Helper()
	Skipf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Require returns the path of program, or skips (fails, when tools are
// required) the test.
func Require(t T, program, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("SKIPPING: %s is not installed (Debian package %s); this test checks mfabulk against it", program, debianPackage)
	if os.Getenv("MFABULK_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s, and MFABULK_REQUIRE_TOOLS=1", msg)
	}
	t.Skipf("%s", msg)
	return ""
}

// AgeDecrypt decrypts file with the reference age CLI.
func AgeDecrypt(t T, identity, file string) []byte {
	t.Helper()
	return AgeRun(t, Require(t, "age", "age"), nil, "-d", "-i", identity, file)
}

// AgeRun runs the age CLI at path with args, and env (nil: this
// process's), and returns its output: age v1.3's, built from the module,
// for what Debian's older age cannot decrypt (post-quantum and tag
// recipients).
func AgeRun(t T, path string, env []string, args ...string) []byte {
	t.Helper()
	var out, stderr bytes.Buffer
	cmd := exec.Command(path, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("age %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out.Bytes()
}

// QRText decodes a QR code PNG with zbarimg, reading it from a pipe.
func QRText(t T, png []byte) string {
	t.Helper()
	zbarimg := Require(t, "zbarimg", "zbar-tools")
	var out, stderr bytes.Buffer
	cmd := exec.Command(zbarimg, "-q", "--raw", "-")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(png), &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("zbarimg: %v: %s", err, stderr.String())
	}
	return strings.TrimSpace(out.String())
}

// OathTOTP returns the reference RFC 6238 code (HMAC-SHA1, 30 s, 6 digits)
// of a Base32 seed at a Unix time, from oathtool. The seed goes on
// oathtool's command line, where other local users can see it: pass only
// test seeds, never one that guards an account.
func OathTOTP(t T, seed string, unix int64) string {
	t.Helper()
	oathtool := Require(t, "oathtool", "oathtool")
	var out, stderr bytes.Buffer
	cmd := exec.Command(oathtool, "--totp", "-b", "--now=@"+strconv.FormatInt(unix, 10), seed)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("oathtool --totp -b --now=@%d: %v: %s", unix, err, stderr.String())
	}
	return strings.TrimSpace(out.String())
}
