package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/reftools"
	"github.com/mfabulk/mfabulk/internal/totp"
)

func TestMain(m *testing.M) {
	if os.Getenv("MFABULK_TEST_AS_MAIN") == "1" {
		os.Exit(mainExit()) // a subprocess of the crash tests
	}
	testscript.Main(m, map[string]func(){
		"mfabulk": func() { os.Exit(mainExit()) },
	})
}

// TestScripts runs testdata/script/*.txt. Each script gets its own empty
// iamlocal account (MFABULK_ENDPOINT_URL points at it), a fresh age
// identity in $WORK/identity.txt whose recipient is in
// $WORK/recipients.txt, and the commands below (agev13: agev13_test.go).
func TestScripts(t *testing.T) {
	age13 := &agev13{dir: t.TempDir()}
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: false,
		RequireUniqueNames:  true,
		UpdateScripts:       os.Getenv("MFABULK_UPDATE_GOLDEN") == "1", // rewrites cmp goldens in place
		Setup:               setupScript,
		Condition:           scriptCondition,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"iamlocal":     cmdIAMLocal,
			"checkoutfile": cmdCheckOutfile,
			"exits":        cmdExits,
			"forgeplan":    cmdForgePlan,
			"moto":         cmdMoto,
			"agev13":       age13.cmd,
		},
	})
}

func setupScript(env *testscript.Env) error {
	// Any role may be assumed, each in its account (accounts.txt); other
	// credentials act in the server's own account, as ever.
	srv := iamlocal.New(iamlocal.Options{AnyRole: true})
	url, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		return err
	}
	env.Defer(func() { srv.Close() })
	env.Values["iam"] = srv
	for k, v := range map[string]string{
		"MFABULK_ENDPOINT_URL":        url,
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_REGION":                  "us-east-1",
		"AWS_CONFIG_FILE":             filepath.Join(env.WorkDir, ".aws-config-absent"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(env.WorkDir, ".aws-credentials-absent"),
		"XDG_CONFIG_HOME":             filepath.Join(env.WorkDir, ".config"),
		"MFABULK_REQUIRE_TOOLS":       os.Getenv("MFABULK_REQUIRE_TOOLS"),
		"PATH":                        os.Getenv("PATH"),
	} {
		env.Setenv(k, v)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(env.WorkDir, "identity.txt"), []byte(id.String()+"\n"), 0o600); err != nil {
		return err
	}
	env.Setenv("RECIPIENT", id.Recipient().String())
	env.Setenv("LIVE", url)
	return os.WriteFile(filepath.Join(env.WorkDir, "recipients.txt"), []byte(id.Recipient().String()+"\n"), 0o644)
}

// cmdIAMLocal inspects and steers the script's iamlocal account:
//
//	iamlocal create NAME PATH   a device made by someone else
//	iamlocal fail NAME CODE     calls naming NAME fail with CODE ("" clears)
//	iamlocal assign NAME USER   enables the device for a user
//	iamlocal user NAME          creates an IAM user
//	iamlocal assigned NAME USER asserts the device is enabled for USER
//	                            ("-" for none)
//	iamlocal tags NAME K=V…     sets a device's tags by hand, as a person
//	                            would: mfabulk's own mfabulk:create-id stays
//	showtags NAME               (below) leaves out mfabulk:* tags, whose
//	                            values are random
//	iamlocal showtags NAME      prints a device's tags, K=V a line
//	iamlocal mutations N        asserts N requests that change something
//	iamlocal devices            prints PATH+NAME of every device
//	iamlocal mfa USER           prints the serials of USER's MFA devices,
//	                            as ListMFADevices lists them
//	iamlocal codes NAME         prints two consecutive codes of the
//	                            device's seed, one a line, as an
//	                            authenticator app shows them now
//	iamlocal requests ACTION N  asserts ACTION was called N times (* for all)
//	iamlocal assumed            prints each role AssumeRole granted, "ARN N"
//	                            a line (N times), sorted
//	iamlocal assumed ARN N      asserts the role was assumed N times
func cmdIAMLocal(ts *testscript.TestScript, neg bool, args []string) {
	srv := ts.Value("iam").(*iamlocal.Server)
	if len(args) == 0 {
		ts.Fatalf("usage: iamlocal create|fail|devices|requests …")
	}
	switch {
	case args[0] == "create" && len(args) == 3:
		ts.Check(srv.CreateDevice(args[1], args[2]))
	case args[0] == "fail" && len(args) == 3:
		srv.Fail(args[1], args[2])
	case args[0] == "assign" && len(args) == 3:
		ts.Check(srv.Assign(args[1], args[2]))
	case args[0] == "user" && len(args) == 2:
		ts.Check(srv.CreateUser(args[1], "/"))
	case args[0] == "hardware" && len(args) == 3: // hardware USER N: N hardware or FIDO MFA devices
		n, err := strconv.Atoi(args[2])
		ts.Check(err)
		for i := range n {
			ts.Check(srv.AddHardwareMFA(args[1], fmt.Sprintf("GAHT%08d", i)))
		}
	case args[0] == "assigned" && len(args) == 3:
		d, ok := srv.Device(args[1])
		if !ok {
			ts.Fatalf("no device %s", args[1])
		}
		want := args[2]
		if want == "-" {
			want = ""
		}
		if (d.User == want) == neg {
			ts.Fatalf("device %s is assigned to %q, want %q", args[1], d.User, want)
		}
	case args[0] == "tags" && len(args) >= 2:
		var tags []iamlocal.Tag
		if d, ok := srv.Device(args[1]); ok {
			for _, t := range d.Tags {
				if strings.HasPrefix(t.Key, "mfabulk:") {
					tags = append(tags, t)
				}
			}
		}
		for _, kv := range args[2:] {
			k, v, _ := strings.Cut(kv, "=")
			tags = append(tags, iamlocal.Tag{Key: k, Value: v})
		}
		ts.Check(srv.SetTags(args[1], tags...))
	case args[0] == "showtags" && len(args) == 2:
		d, ok := srv.Device(args[1])
		if !ok {
			ts.Fatalf("no device %s", args[1])
		}
		var lines []string
		for _, t := range d.Tags {
			if !strings.HasPrefix(t.Key, "mfabulk:") {
				lines = append(lines, t.Key+"="+t.Value)
			}
		}
		sort.Strings(lines)
		for _, l := range lines {
			fmt.Fprintln(ts.Stdout(), l)
		}
	case args[0] == "mutations" && len(args) == 2:
		want, err := strconv.Atoi(args[1])
		ts.Check(err)
		got := 0
		for a, n := range srv.Requests() {
			if !strings.HasPrefix(a, "List") && !strings.HasPrefix(a, "Get") {
				got += n
			}
		}
		if (got == want) == neg {
			ts.Fatalf("%d mutating requests, want %d", got, want)
		}
	case args[0] == "codes" && len(args) == 2:
		d, ok := srv.Device(args[1])
		if !ok {
			ts.Fatalf("no device %s", args[1])
		}
		first, second, err := totp.Pair(d.Seed, time.Now())
		ts.Check(err)
		fmt.Fprintf(ts.Stdout(), "%s\n%s\n", first, second)
	case args[0] == "mfa" && len(args) == 2: // mfa USER: the serials ListMFADevices lists for USER, one a line
		u, ok := srv.User(args[1])
		if !ok {
			ts.Fatalf("no user %s", args[1])
		}
		for _, d := range srv.Devices() {
			if strings.EqualFold(d.User, u.Name) {
				fmt.Fprintln(ts.Stdout(), d.Serial)
			}
		}
		for _, serial := range u.Hardware {
			fmt.Fprintln(ts.Stdout(), serial)
		}
	case args[0] == "devices" && len(args) == 1:
		for _, d := range srv.Devices() {
			fmt.Fprintln(ts.Stdout(), d.Path+d.Name)
		}
	case args[0] == "requests" && len(args) == 3:
		want, err := strconv.Atoi(args[2])
		ts.Check(err)
		got := srv.Requests()[args[1]]
		if args[1] == "*" {
			got = 0
			for _, n := range srv.Requests() {
				got += n
			}
		}
		if (got == want) == neg {
			ts.Fatalf("%s was called %d times, want %d", args[1], got, want)
		}
	case args[0] == "assumed" && len(args) == 1:
		var lines []string
		for arn, n := range srv.AssumedRoles() {
			lines = append(lines, fmt.Sprintf("%s %d", arn, n))
		}
		sort.Strings(lines)
		for _, l := range lines {
			fmt.Fprintln(ts.Stdout(), l)
		}
	case args[0] == "assumed" && len(args) == 3:
		want, err := strconv.Atoi(args[2])
		ts.Check(err)
		if got := srv.AssumedRoles()[args[1]]; (got == want) == neg {
			ts.Fatalf("role %s was assumed %d times, want %d", args[1], got, want)
		}
	default:
		ts.Fatalf("iamlocal: bad arguments %q", args)
	}
}

// cmdCheckOutfile decrypts an outfile with the reference age CLI and
// compares it byte for byte with the secret iamlocal issued for the device;
// a QR outfile is also decoded as a QR code, whose secret= must be the seed.
// The age CLI is the first on the script's PATH (agev13 puts age v1.3's
// there); an IDENTITY of plugin:NAME decrypts with age -j NAME.
//
//	checkoutfile IDENTITY OUTFILE DEVICE
func cmdCheckOutfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: checkoutfile IDENTITY OUTFILE DEVICE")
	}
	srv := ts.Value("iam").(*iamlocal.Server)
	d, ok := srv.Device(args[2])
	if !ok {
		ts.Fatalf("iamlocal has no device %q", args[2])
	}
	t := scriptT{ts}
	var got []byte
	if age := lookPathIn(ts.Getenv("PATH"), "age"); age != "" {
		id := []string{"-i", ts.MkAbs(args[0])}
		if name, ok := strings.CutPrefix(args[0], "plugin:"); ok {
			id = []string{"-j", name}
		}
		got = reftools.AgeRun(t, age, append(os.Environ(), "PATH="+ts.Getenv("PATH")), append(append([]string{"-d"}, id...), ts.MkAbs(args[1]))...)
	} else {
		got = reftools.AgeDecrypt(t, ts.MkAbs(args[0]), ts.MkAbs(args[1]))
	}
	if bytes.Equal(got, d.Seed) {
		return
	}
	if !bytes.Equal(got, d.QRCodePNG) {
		ts.Fatalf("%s does not decrypt to the secret iamlocal issued for %s", args[1], args[2])
	}
	text := reftools.QRText(t, got)
	if !strings.HasSuffix(text, "?secret="+string(d.Seed)) || !strings.HasPrefix(text, "otpauth://totp/"+d.Name+"@") {
		ts.Fatalf("QR code of %s is %q, want the otpauth URI of %s's seed", args[1], text, args[2])
	}
}

// lookPathIn is exec.LookPath in the folders of path, a PATH value: a
// script's, which agev13 may have changed. "" when there is none.
func lookPathIn(path, program string) string {
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, program)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// scriptCondition adds [reftools]: true when age, zbarimg and ssh-keygen are installed,
// or when MFABULK_REQUIRE_TOOLS=1 demands them (so that a missing tool
// fails the script instead of skipping it); and [moto], the same for
// moto_server.
func scriptCondition(cond string) (bool, error) {
	if cond == "moto" { // moto_server, for the S3 store (cmdMoto)
		if os.Getenv("MFABULK_REQUIRE_TOOLS") == "1" {
			return true, nil
		}
		_, err := exec.LookPath("moto_server")
		return err == nil, nil
	}
	if cond != "reftools" {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	if os.Getenv("MFABULK_REQUIRE_TOOLS") == "1" {
		return true, nil
	}
	for _, p := range []string{"age", "zbarimg", "ssh-keygen"} {
		if _, err := exec.LookPath(p); err != nil {
			return false, nil
		}
	}
	return true, nil
}

// scriptT lets reftools report through a script; scripts skip themselves
// with [!reftools] before a tool could be missing.
type scriptT struct{ ts *testscript.TestScript }

func (scriptT) Helper()                             {}
func (s scriptT) Fatalf(format string, args ...any) { s.ts.Fatalf(format, args...) }
func (s scriptT) Skipf(format string, args ...any)  { s.ts.Fatalf(format, args...) }

// cmdExits runs a program like exec and asserts its exit status, for the
// exit codes that carry meaning (plan --detailed-exitcode's 2).
//
//	exits N PROGRAM [ARGS…]
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits N PROGRAM [ARGS…]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}
