//go:build unix

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/reftools"
	"github.com/mfabulk/mfabulk/internal/totp"
)

// codesFor returns, from the reference oathtool, the codes of device
// name's seed for the step before now and for now: what a person reads
// off an authenticator app over 30 seconds.
func codesFor(t *testing.T, srv *iamlocal.Server, name string) (string, string) {
	t.Helper()
	d, ok := srv.Device(name)
	if !ok {
		t.Fatalf("no device %s", name)
	}
	now := time.Now().Unix()
	return reftools.OathTOTP(t, string(d.Seed), now-int64(totp.Step/time.Second)), reftools.OathTOTP(t, string(d.Seed), now)
}

// enroll runs enroll in-process with codes piped to standard input, and
// records what it printed for the leak scan.
func (s *scenario) enroll(stdin string, args ...string) (string, int) {
	var out bytes.Buffer
	code := run(context.Background(), append([]string{"enroll"}, args...), IO{In: strings.NewReader(stdin), Out: &out, Err: &out})
	s.record(out.Bytes())
	return out.String(), code
}

func (s *scenario) userOf(name string) string {
	d, _ := s.srv.Device(name)
	return d.User
}

// TestEnrollWithCodesFromOathtool: the right codes, piped, enable the
// device for the user; the device is found by the record apply wrote
// beside the outfile. A mistyped code is refused locally: IAM never sees
// an EnableMFADevice call. Neither seed nor codes appear anywhere.
func TestEnrollWithCodesFromOathtool(t *testing.T) {
	s := newScenario(t, iamlocal.Options{}, 2)
	s.converge(2)
	if err := s.srv.CreateUser("alice", "/"); err != nil {
		t.Fatal(err)
	}

	c1, c2 := codesFor(t, s.srv, "d000")
	typo := []byte(c2)
	typo[0] = '0' + (typo[0]-'0'+1)%10
	out, code := s.enroll(c1+"\n"+string(typo)+"\n", "-i", "identity.txt", "out/d000.png.age", "--user", "alice")
	if code != exitError || !strings.Contains(out, "the codes are not two consecutive codes") || !strings.Contains(out, "nothing was sent to AWS") {
		t.Errorf("mistyped code: exit %d:\n%s", code, out)
	}
	if n := s.srv.Requests()["EnableMFADevice"]; n != 0 {
		t.Errorf("a mistyped code made %d EnableMFADevice calls", n)
	}
	if strings.Contains(out, c1) || strings.Contains(out, string(typo)) {
		t.Errorf("the output quotes a code:\n%s", out)
	}

	out, code = s.enroll(c1+"\n"+c2+"\n", "-i", "identity.txt", "out/d000.png.age", "--user", "alice")
	serial := "arn:aws:iam::" + iamlocal.DefaultAccount + ":mfa/faults/d000"
	if code != exitOK || !strings.Contains(out, "Enabled "+serial+" for user alice") || !strings.Contains(out, "found by .d000.png.age.id") {
		t.Fatalf("right codes: exit %d:\n%s", code, out)
	}
	if u := s.userOf("d000"); u != "alice" {
		t.Errorf("d000 is assigned to %q, want alice", u)
	}
	if strings.Contains(out, c1) || strings.Contains(out, c2) || strings.Contains(out, "█") {
		t.Errorf("the output quotes a code or draws the QR code into a pipe:\n%s", out)
	}
	s.leakScan()
}

// TestEnrollFindsTheDeviceInTheAccount: with no record beside the
// outfile, the device is the account's one unassigned device of the QR
// code's label, or of a Base32 outfile's file name; the user is the
// caller's own. None, or one assigned to another user, is an error naming
// --serial; one enabled for the caller is said to be.
// (Without the record nothing proves who made the device: these runs go
// on with --allow-unverified; see enroll_provenance.txt.)
func TestEnrollFindsTheDeviceInTheAccount(t *testing.T) {
	s := newScenario(t, iamlocal.Options{}, 2)
	s.converge(2)
	for _, name := range []string{"d000.png.age", "d001.txt.age"} {
		if err := os.Remove(filepath.Join("out", "."+name+".id")); err != nil {
			t.Fatal(err)
		}
	}

	c1, c2 := codesFor(t, s.srv, "d001")
	out, code := s.enroll(c1+"\n"+c2+"\n", "--allow-unverified", "-i", "identity.txt", "out/d001.txt.age")
	if code != exitOK || !strings.Contains(out, "found by the account's unassigned devices") || !strings.Contains(out, "for user iamlocal") {
		t.Fatalf("Base32 outfile by its file name: exit %d:\n%s", code, out)
	}
	if u := s.userOf("d001"); u != "iamlocal" {
		t.Errorf("d001 is assigned to %q, want the caller, iamlocal", u)
	}

	// The QR code's label names the device, whatever the file is called.
	data, _ := os.ReadFile("out/d000.png.age")
	os.WriteFile("out/mine.png.age", data, 0o600)
	c1, c2 = codesFor(t, s.srv, "d000")
	out, code = s.enroll(c1+"\n"+c2+"\n", "--allow-unverified", "-i", "identity.txt", "out/mine.png.age", "--no-show")
	if code != exitOK || !strings.Contains(out, "found by the account's unassigned devices") || s.userOf("d000") != "iamlocal" {
		t.Fatalf("QR outfile by its label: exit %d:\n%s", code, out)
	}

	// A Base32 outfile renamed: no device has that name.
	data, _ = os.ReadFile("out/d001.txt.age")
	os.WriteFile("out/renamed.txt.age", data, 0o600)
	out, code = s.enroll("", "-i", "identity.txt", "out/renamed.txt.age")
	if code != exitError || !strings.Contains(out, `no unassigned virtual MFA device is called "renamed"`) || !strings.Contains(out, "--serial") {
		t.Errorf("no such device: exit %d:\n%s", code, out)
	}
	// Already enabled for the caller: said so (issue 22), not --serial;
	// without the record, nothing proves it is this outfile's device.
	out, code = s.enroll("", "-i", "identity.txt", "out/d000.png.age")
	if code != exitError || !strings.Contains(out, "is already enabled for user iamlocal, but mfabulk cannot prove it is this outfile's device") || strings.Contains(out, "--serial") {
		t.Errorf("assigned device: exit %d:\n%s", code, out)
	}
	// Enabled for someone else: no device of the name is the caller's.
	out, code = s.enroll("", "-i", "identity.txt", "--user", "erin", "out/d000.png.age")
	if code != exitError || !strings.Contains(out, "already assigned to user iamlocal") || !strings.Contains(out, "--serial") {
		t.Errorf("another user's device: exit %d:\n%s", code, out)
	}
	if n := s.srv.Requests()["EnableMFADevice"]; n != 2 {
		t.Errorf("%d EnableMFADevice calls, want 2", n)
	}
	s.leakScan()
}

// TestEnrollWithSerial: --serial names the device when nothing else can
// (and no record proves it: --allow-unverified).
func TestEnrollWithSerial(t *testing.T) {
	s := newScenario(t, iamlocal.Options{}, 2)
	s.converge(2)
	data, _ := os.ReadFile("out/d001.txt.age")
	os.WriteFile("renamed.txt.age", data, 0o600)
	c1, c2 := codesFor(t, s.srv, "d001")
	serial := "arn:aws:iam::" + iamlocal.DefaultAccount + ":mfa/faults/d001"
	out, code := s.enroll(c1+"\n"+c2+"\n", "--allow-unverified", "-i", "identity.txt", "renamed.txt.age", "--serial", serial)
	if code != exitOK || !strings.Contains(out, "found by --serial") || s.userOf("d001") != "iamlocal" {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	s.leakScan()
}

// sshKeyWithPassphrase makes an ed25519 key with ssh-keygen -N and seals
// one QR device (d000) to it with apply.
func sshKeyWithPassphrase(t *testing.T, pass string) *scenario {
	t.Helper()
	keygen := reftools.Require(t, "ssh-keygen", "openssh-client")
	s := newScenario(t, iamlocal.Options{}, 1)
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", pass, "-C", "", "-f", "key").CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, _ := os.ReadFile("key.pub")
	os.WriteFile("m.yaml", []byte("version: 1\ndefaults:\n  path: /faults/\n  recipients: ["+strings.TrimSpace(string(pub))+"]\ndevices:\n  - {name: d000}\n"), 0o644)
	s.converge(2)
	return s
}

// onTerminal runs this test binary as mfabulk on a new pseudo-terminal,
// its controlling terminal, and returns it with what it printed.
func onTerminal(t *testing.T, args ...string) (*exec.Cmd, *os.File, *syncBuffer) {
	t.Helper()
	cmd := subprocess(args...)
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	out, done := new(syncBuffer), make(chan struct{})
	copied.Store(out, done)
	go func() {
		_, _ = io.Copy(out, tty)
		close(done)
	}()
	return cmd, tty, out
}

// copied holds, by the output of each onTerminal, a channel closed once
// the copy from the terminal has ended: after the program exited and
// the pty said so.
var copied sync.Map

// drained waits, up to d, for out's copy from the terminal to end: read
// right after the program exits, the output may still lack its last
// lines, still in the pty (TestEnrollUnprovenOnATerminal failed so,
// under make test's load, without "enroll cancelled").
func drained(out *syncBuffer, d time.Duration) {
	done, ok := copied.Load(out)
	if !ok {
		return
	}
	select {
	case <-done.(chan struct{}):
	case <-time.After(d):
	}
}

// typeAfter waits for prompt, then types line.
func typeAfter(t *testing.T, tty *os.File, out *syncBuffer, prompt, line string) {
	t.Helper()
	if !waitFor(20*time.Second, func() bool { return strings.Contains(out.String(), prompt) }) {
		t.Fatalf("no %q prompt:\n%s", prompt, out.String())
	}
	if strings.Contains(prompt, "passphrase") {
		// The prompt is written just before echo is turned off: a person
		// reads it first, but a test types at once, so it waits for the
		// terminal (whose settings the pty's master side reads) to stop
		// echoing.
		if !waitFor(20*time.Second, func() bool {
			tio, err := unix.IoctlGetTermios(int(tty.Fd()), tcgets)
			return err == nil && tio.Lflag&unix.ECHO == 0
		}) {
			t.Fatalf("echo never turned off after %q", prompt)
		}
	}
	if _, err := tty.Write([]byte(line + "\n")); err != nil {
		t.Fatal(err)
	}
}

// TestEnrollPassphraseSSHKeyOnATerminal: a passphrase-protected ed25519
// key (ssh-keygen -N): the passphrase is asked on the terminal, without
// echo; the QR code is drawn; the codes typed enable the device.
func TestEnrollPassphraseSSHKeyOnATerminal(t *testing.T) {
	const pass = "s3cret-Words"
	s := sshKeyWithPassphrase(t, pass)
	cmd, tty, out := onTerminal(t, "enroll", "-i", "key", "out/d000.png.age")
	typeAfter(t, tty, out, "Enter passphrase for key: ", pass)
	if !waitFor(20*time.Second, func() bool { return strings.Contains(out.String(), "Code 1: ") }) {
		t.Fatalf("no code prompt:\n%s", out.String())
	}
	c1, c2 := codesFor(t, s.srv, "d000")
	typeAfter(t, tty, out, "Code 1: ", c1)
	typeAfter(t, tty, out, "Code 2", c2)
	code, _ := waitExit(t, cmd, 20*time.Second)
	drained(out, 5*time.Second)
	got := out.String()
	if code != exitOK || !strings.Contains(got, "Enabled arn:aws:iam::"+iamlocal.DefaultAccount+":mfa/faults/d000 for user iamlocal") {
		t.Fatalf("exit %d:\n%s", code, got)
	}
	if !strings.Contains(got, "Scan this QR code") {
		t.Errorf("no QR code drawn on the terminal:\n%s", got)
	}
	if strings.Contains(got, pass) {
		t.Errorf("the passphrase was echoed:\n%s", got)
	}
	if s.userOf("d000") != "iamlocal" {
		t.Errorf("d000 not assigned")
	}
	// The terminal echoes the codes a person types; nothing else is
	// recorded for the leak scan, which covers the folder.
	s.leakScan()
}

// TestEnrollPassphraseWithoutATerminal: with no terminal to ask on (a new
// session without one, as under cron), a passphrase-protected key fails
// with a clear message, and IAM sees no EnableMFADevice.
func TestEnrollPassphraseWithoutATerminal(t *testing.T) {
	s := sshKeyWithPassphrase(t, "pass")
	cmd := subprocess("enroll", "-i", "key", "out/d000.png.age")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no controlling terminal
	cmd.Stdin = strings.NewReader("pass\n123456\n654321\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	s.record(out.Bytes())
	if err == nil || !strings.Contains(out.String(), "key is protected by a passphrase: no terminal to ask for the passphrase on") {
		t.Errorf("no terminal (%v):\n%s", err, out.String())
	}
	if n := s.srv.Requests()["EnableMFADevice"]; n != 0 {
		t.Errorf("%d EnableMFADevice calls", n)
	}
	s.leakScan()
}

// TestShowPassphraseSSHKeyOnATerminal: show takes the same keys.
func TestShowPassphraseSSHKeyOnATerminal(t *testing.T) {
	const pass = "s3cret-Words"
	s := sshKeyWithPassphrase(t, pass)
	cmd, tty, out := onTerminal(t, "show", "-i", "key", "out/d000.png.age")
	typeAfter(t, tty, out, "Enter passphrase for key: ", pass)
	code, _ := waitExit(t, cmd, 20*time.Second)
	drained(out, 5*time.Second)
	if got := out.String(); code != exitOK || !strings.Contains(got, "Scan this QR code") || strings.Contains(got, pass) {
		t.Fatalf("exit %d:\n%s", code, got)
	}
	s.leakScan()
}

// TestShowPassphraseInterruptRestoresEcho: Ctrl-C at the passphrase prompt
// (typed on the terminal, so the line discipline sends SIGINT) ends show
// with 130 and leaves the terminal echoing again, as it was before the
// prompt; the process must not exit with echo still off.
func TestShowPassphraseInterruptRestoresEcho(t *testing.T) {
	s := sshKeyWithPassphrase(t, "s3cret-Words")
	cmd, tty, out := onTerminal(t, "show", "-i", "key", "out/d000.png.age")
	echo := func() bool {
		tio, err := unix.IoctlGetTermios(int(tty.Fd()), tcgets)
		if err != nil {
			t.Fatal(err)
		}
		return tio.Lflag&unix.ECHO != 0
	}
	if !waitFor(20*time.Second, func() bool { return strings.Contains(out.String(), "Enter passphrase for key: ") && !echo() }) {
		t.Fatalf("no passphrase prompt with echo off:\n%s", out.String())
	}
	if _, err := tty.Write([]byte{0x03}); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	code, _ := waitExit(t, cmd, 20*time.Second)
	drained(out, 5*time.Second)
	if code != exitInterrupted {
		t.Errorf("exit %d, want %d:\n%s", code, exitInterrupted, out.String())
	}
	if !echo() {
		t.Errorf("the terminal was left with echo off after Ctrl-C at the passphrase prompt")
	}
	if n := s.srv.Requests()["EnableMFADevice"]; n != 0 {
		t.Errorf("%d EnableMFADevice calls", n)
	}
}

// TestEnrollUnprovenOnATerminal: a device no record proves (its outfile
// copied away from the record apply wrote) is warned about in red on a
// terminal, before its QR code is drawn, and enroll goes on only after
// "yes": anything else enables nothing. NO_COLOR keeps the warning plain.
func TestEnrollUnprovenOnATerminal(t *testing.T) {
	s := newScenario(t, iamlocal.Options{}, 1)
	s.converge(2)
	data, _ := os.ReadFile("out/d000.png.age")
	os.WriteFile("mine.png.age", data, 0o600)
	const warning = "WARNING: mfabulk cannot prove it made device arn:aws:iam::" + iamlocal.DefaultAccount + ":mfa/faults/d000:"

	cmd, tty, out := onTerminal(t, "enroll", "-i", "identity.txt", "mine.png.age")
	typeAfter(t, tty, out, "Enter a value: ", "no")
	code, _ := waitExit(t, cmd, 20*time.Second)
	drained(out, 5*time.Second)
	got := out.String()
	if code != exitError || !strings.Contains(got, "\x1b[1;31m"+warning+"\x1b[0m") || !strings.Contains(got, "there is no record beside the outfile (.mine.png.age.id)") {
		t.Fatalf("no red warning (exit %d):\n%q", code, got)
	}
	if !strings.Contains(got, "enroll cancelled: the device's provenance is not proven") || strings.Contains(got, "Scan this QR code") {
		t.Errorf("not cancelled before the QR code:\n%s", got)
	}
	if n := s.srv.Requests()["EnableMFADevice"]; n != 0 || s.userOf("d000") != "" {
		t.Errorf("%d EnableMFADevice calls after \"no\"", n)
	}

	t.Setenv("NO_COLOR", "1")
	cmd, tty, out = onTerminal(t, "enroll", "-i", "identity.txt", "mine.png.age")
	typeAfter(t, tty, out, "Enter a value: ", "yes")
	if !waitFor(20*time.Second, func() bool { return strings.Contains(out.String(), "Code 1: ") }) {
		t.Fatalf("no code prompt after yes:\n%s", out.String())
	}
	c1, c2 := codesFor(t, s.srv, "d000")
	typeAfter(t, tty, out, "Code 1: ", c1)
	typeAfter(t, tty, out, "Code 2", c2)
	code, _ = waitExit(t, cmd, 20*time.Second)
	drained(out, 5*time.Second)
	got = out.String()
	if code != exitOK || !strings.Contains(got, warning) || strings.Contains(got, "\x1b[1;31m") || !strings.Contains(got, "Scan this QR code") {
		t.Fatalf("after yes, with NO_COLOR (exit %d):\n%q", code, got)
	}
	if s.userOf("d000") != "iamlocal" {
		t.Errorf("d000 not assigned after yes")
	}
	s.leakScan()
}

// TestEnrollAgainstMoto: moto_server has no ListMFADeviceTags, so nothing
// can prove who made a device: enroll says so at once (one attempt, not
// the SDK's two minutes of retries on moto's error page) and refuses
// without a terminal; --allow-unverified goes on and enables it.
func TestEnrollAgainstMoto(t *testing.T) {
	url := motoFolder(t)
	id, _ := age.GenerateX25519Identity()
	os.WriteFile("identity.txt", []byte(id.String()+"\n"), 0o600)
	os.WriteFile("m.yaml", []byte("version: 1\ndevices:\n  - {name: zed, bootstrap: Base32StringSeed, recipients: ["+id.Recipient().String()+"]}\n"), 0o644)
	if out, code := runInProcess("apply", "-f", "m.yaml", "--auto-approve"); code != exitOK {
		t.Fatalf("apply exited %d:\n%s", code, out)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	client := iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(url) })
	if _, err := client.CreateUser(context.Background(), &iam.CreateUserInput{UserName: aws.String("zed")}); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	out, code := runInProcess("enroll", "-i", "identity.txt", "out/zed.txt.age", "--user", "zed")
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("enroll took %v to find that moto has no tags", took)
	}
	if code != exitError || !strings.Contains(out, "its tags could not be read: the endpoint does not support iam:ListMFADeviceTags") || !strings.Contains(out, "pass --allow-unverified") {
		t.Fatalf("exit %d:\n%s", code, out)
	}

	c1, c2, err := totp.Pair(motoSecrets(t, url)["zed"].Base32StringSeed, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	out, code = runWithStdin(c1+"\n"+c2+"\n", "enroll", "--allow-unverified", "-i", "identity.txt", "out/zed.txt.age", "--user", "zed")
	if code != exitOK || !strings.Contains(out, "Going on without proof of who made this device") || !strings.Contains(out, "Enabled arn:aws:iam::123456789012:mfa/zed for user zed") {
		t.Fatalf("--allow-unverified: exit %d:\n%s", code, out)
	}

	// Run again (issue 22): moto's ListMFADevices says the device is
	// zed's already. With nothing to prove it is the outfile's (no tags
	// on moto), that is an error saying both; with --allow-unverified,
	// it is said, and nothing is sent: no raw EntityAlreadyExists.
	out, code = runWithStdin(c1+"\n"+c2+"\n", "enroll", "-i", "identity.txt", "out/zed.txt.age", "--user", "zed")
	if code != exitError || !strings.Contains(out, "device arn:aws:iam::123456789012:mfa/zed is already enabled for user zed, but mfabulk cannot prove it is this outfile's device") {
		t.Errorf("again: exit %d:\n%s", code, out)
	}
	out, code = runWithStdin("", "enroll", "--allow-unverified", "-i", "identity.txt", "out/zed.txt.age", "--user", "zed")
	if code != exitOK || !strings.Contains(out, "Already enabled: arn:aws:iam::123456789012:mfa/zed is enabled for user zed (since ") || strings.Contains(out, "EntityAlreadyExists") {
		t.Errorf("again, --allow-unverified: exit %d:\n%s", code, out)
	}

	// moto has no ResyncMFADevice: its HTML error page is named as such,
	// at once.
	out, code = runWithStdin("", "enroll", "--resync", "-i", "identity.txt", "out/zed.txt.age", "--user", "zed")
	if code != exitError || !strings.Contains(out, "does not implement iam:ResyncMFADevice: it answered HTTP 500 Internal Server Error with an HTML page") || !strings.Contains(out, "mfabulk needs iam:ResyncMFADevice") {
		t.Errorf("--resync: exit %d:\n%s", code, out)
	}
}

// runWithStdin runs the CLI in-process with stdin.
func runWithStdin(stdin string, args ...string) (string, int) {
	var out bytes.Buffer
	code := run(context.Background(), args, IO{In: strings.NewReader(stdin), Out: &out, Err: &out})
	return out.String(), code
}

// TestEnrollWarningEscapesValues: the warning quotes the outfile's name
// (a value from outside): a terminal escape in it is printed as \x1b,
// never raw.
func TestEnrollWarningEscapesValues(t *testing.T) {
	s := newScenario(t, iamlocal.Options{}, 2)
	s.converge(2)
	data, _ := os.ReadFile("out/d001.txt.age")
	os.WriteFile("x\x1b[2J\x1b]8;;e\x07y.txt.age", data, 0o600)
	out, code := s.enroll("", "-i", "identity.txt", "--serial", "arn:aws:iam::"+iamlocal.DefaultAccount+":mfa/faults/d001", "x\x1b[2J\x1b]8;;e\x07y.txt.age")
	if code != exitError || !strings.Contains(out, `(.x\x1b[2J\x1b]8;;e\ay.txt.age.id)`) || strings.Contains(out, "\x1b") {
		t.Fatalf("exit %d:\n%q", code, out)
	}
}

// TestTagsUnreadable: a refused ListMFADeviceTags names the permission the
// person's credentials may lack; a fault IAM may recover from is not
// "unreadable" (it ends enroll, after the client's retries).
func TestTagsUnreadable(t *testing.T) {
	for _, code := range []string{"AccessDenied", "AccessDeniedException"} {
		if got := tagsUnreadable(fmt.Errorf("iam:ListMFADeviceTags: %w", &smithy.GenericAPIError{Code: code})); !strings.Contains(got, "may lack that permission") || !strings.Contains(got, "iam:ListMFADeviceTags on arn:aws:iam::*:mfa/*") {
			t.Errorf("%s: %q", code, got)
		}
	}
	if got := tagsUnreadable(&smithy.GenericAPIError{Code: "ServiceFailure"}); got != "" {
		t.Errorf("ServiceFailure: %q", got)
	}
}
