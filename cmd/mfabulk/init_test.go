package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/manifest"
)

// TestInitScripts runs testdata/script/init/*.txt like [TestScripts], with
// one more command to make users and groups:
//
//	iamusers create NAME [PATH]     a user, at PATH or "/"
//	iamusers group GROUP USER…      a group (made if missing) and members
func TestInitScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                filepath.Join("testdata", "script", "init"),
		RequireUniqueNames: true,
		Setup:              setupScript,
		Condition:          scriptCondition,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"iamlocal": cmdIAMLocal,
			"exits":    cmdExits,
			"iamusers": cmdIAMUsers,
		},
	})
}

func cmdIAMUsers(ts *testscript.TestScript, neg bool, args []string) {
	srv := ts.Value("iam").(*iamlocal.Server)
	switch {
	case neg:
		ts.Fatalf("iamusers does not fail")
	case len(args) >= 2 && len(args) <= 3 && args[0] == "create":
		path := ""
		if len(args) == 3 {
			path = args[2]
		}
		ts.Check(srv.CreateUser(args[1], path))
	case len(args) >= 3 && args[0] == "group":
		if err := srv.CreateGroup(args[1], ""); err != nil && !strings.Contains(err.Error(), "EntityAlreadyExists") {
			ts.Fatalf("%v", err)
		}
		for _, u := range args[2:] {
			ts.Check(srv.AddUserToGroup(args[1], u))
		}
	default:
		ts.Fatalf("usage: iamusers create NAME [PATH] | iamusers group GROUP USER…")
	}
}

// initAccount is an account of five users, two of whom (alice, carol)
// have an assigned virtual device; the caller, iamlocal, has one too, so
// that only bob, dave and erin have none. Group eng is bob, carol, erin.
func initAccount(t *testing.T) *iamlocal.Server {
	t.Helper()
	srv := startLocal(t)
	for _, u := range []struct{ name, path string }{{"alice", "/"}, {"bob", "/"}, {"carol", "/staff/"}, {"dave", "/staff/"}, {"erin", "/staff/eng/"}} {
		if err := srv.CreateUser(u.name, u.path); err != nil {
			t.Fatal(err)
		}
	}
	for dev, user := range map[string]string{"alice": "alice", "carol-phone": "CAROL", "caller": "iamlocal"} {
		if err := srv.CreateDevice(dev, "/"); err != nil {
			t.Fatal(err)
		}
		if err := srv.Assign(dev, user); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.CreateGroup("eng", "/teams/"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"erin", "carol", "bob"} {
		if err := srv.AddUserToGroup("eng", u); err != nil {
			t.Fatal(err)
		}
	}
	return srv
}

// runSplit runs a command line in-process with stdout and stderr apart.
func runSplit(args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, IO{In: strings.NewReader(""), Out: &out, Err: &errOut})
	return out.String(), errOut.String(), code
}

// initDevices parses a generated manifest with a recipient filled in, as
// validate does, and returns its devices' names, paths and users.
func initDevices(t *testing.T, text string) []string {
	t.Helper()
	filled := strings.Replace(text, "recipients: []", "recipients: ["+testKey+"]", 1)
	m, err := manifest.Parse("m.yaml", t.TempDir(), []byte(filled))
	if err != nil {
		t.Fatalf("the manifest with a recipient does not validate: %v\n%s", err, filled)
	}
	var out []string
	for _, d := range m.Devices {
		out = append(out, d.Path+d.Name+"@"+d.User)
	}
	return out
}

func TestInitUsersWithoutMFA(t *testing.T) {
	srv := initAccount(t)
	stdout, stderr, code := runSplit("init", "--users-without-mfa")
	if code != 0 {
		t.Fatalf("init exited %d: %s", code, stderr)
	}
	if got, want := initDevices(t, stdout), []string{"/bob@bob", "/dave@dave", "/erin@erin"}; !slices.Equal(got, want) {
		t.Errorf("devices %q, want %q", got, want)
	}
	for _, want := range []string{"# from AWS account 123456789012.\n", "# Users read: every IAM user (6).\n",
		"# Without an MFA device: 3,", "\nversion: 1\ndefaults:\n  path: /\n  user: \"{{.Name}}\"\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("manifest lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "3 device(s)") {
		t.Errorf("stderr: %s", stderr)
	}
	// The account's virtual devices are read once; ListMFADevices only for
	// the users without one (bob, dave, erin), for hardware devices.
	req := srv.Requests()
	if req["ListVirtualMFADevices"] != 1 || req["ListMFADevices"] != 3 || req["ListUsers"] != 1 {
		t.Errorf("requests %v", req)
	}

	stdout, _, _ = runSplit("init", "--users-without-mfa", "--group", "eng")
	if got, want := initDevices(t, stdout), []string{"/bob@bob", "/erin@erin"}; !slices.Equal(got, want) {
		t.Errorf("--group eng: devices %q, want %q", got, want)
	}
	stdout, _, _ = runSplit("init", "--users-without-mfa", "--path-prefix", "/staff/")
	if got, want := initDevices(t, stdout), []string{"/staff/dave@dave", "/staff/erin@erin"}; !slices.Equal(got, want) {
		t.Errorf("--path-prefix /staff/: devices %q, want %q", got, want)
	}
	stdout, _, _ = runSplit("init", "--users-without-mfa", "--path-prefix", "/staff/", "--group", "eng")
	if got, want := initDevices(t, stdout), []string{"/staff/erin@erin"}; !slices.Equal(got, want) {
		t.Errorf("--group eng --path-prefix /staff/: devices %q, want %q", got, want)
	}
	_, stderr, code = runSplit("init", "--users-without-mfa", "--group", "ops")
	if code != 1 || !strings.Contains(stderr, "NoSuchEntity") {
		t.Errorf("a missing group: exit %d, %s", code, stderr)
	}
}

// TestInitOutputFile: -o writes a new file, 0600, that validate accepts
// once a recipient is added, and refuses an existing file or a link,
// leaving it as it was.
func TestInitOutputFile(t *testing.T) {
	srv := initAccount(t)
	_, stderr, code := runSplit("init", "--users-without-mfa", "-o", "cohort.yaml")
	if code != 0 {
		t.Fatalf("init -o exited %d: %s", code, stderr)
	}
	st, err := os.Stat("cohort.yaml")
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("cohort.yaml: %v, %v", st, err)
	}
	written := mustRead(t, "cohort.yaml")

	// As written it is incomplete: validate says so, for every device.
	out, code := runInProcess("validate", "-f", "cohort.yaml")
	if code != 1 || strings.Count(out, "has no recipients") != 3 {
		t.Errorf("validate of the unfilled manifest exited %d:\n%s", code, out)
	}
	// With a recipient it is valid.
	filled := strings.Replace(string(written), "recipients: []", "recipients: ["+testKey+"]", 1)
	writeFile(t, "filled.yaml", filled, 0o600)
	if out, code := runInProcess("validate", "-f", "filled.yaml"); code != 0 || !strings.Contains(out, "3 device(s), valid") {
		t.Errorf("validate of the filled manifest exited %d:\n%s", code, out)
	}

	// Never over an existing file, and the account is not read for
	// nothing.
	before := srv.Requests()["ListUsers"]
	_, stderr, code = runSplit("init", "--users-without-mfa", "-o", "cohort.yaml")
	if code != 1 || !strings.Contains(stderr, "cohort.yaml already exists; init never overwrites a file") {
		t.Errorf("init -o over an existing file exited %d: %s", code, stderr)
	}
	if !bytes.Equal(mustRead(t, "cohort.yaml"), written) || srv.Requests()["ListUsers"] != before {
		t.Error("init -o changed the existing file, or read the account")
	}
	// Nor through a link, even a dangling one.
	if err := os.Symlink("target.yaml", "link.yaml"); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = runSplit("init", "--users-without-mfa", "-o", "link.yaml")
	if _, err := os.Lstat("target.yaml"); code != 1 || !os.IsNotExist(err) || !strings.Contains(stderr, "already exists") {
		t.Errorf("init -o through a dangling link exited %d (%s); target: %v", code, stderr, err)
	}
	// The exclusive create holds even when the file appears after the
	// early check.
	if err := writeNewFile("cohort.yaml", []byte("x")); err == nil || !bytes.Equal(mustRead(t, "cohort.yaml"), written) {
		t.Errorf("writeNewFile over an existing file: %v", err)
	}
}

func TestInitNothingToDo(t *testing.T) {
	initAccount(t)
	stdout, stderr, code := runSplit("init", "--users-without-mfa", "--path-prefix", "/nobody/", "-o", "m.yaml")
	if code != 0 || stdout != "" || !strings.Contains(stderr, "no manifest written") {
		t.Errorf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	if _, err := os.Lstat("m.yaml"); !os.IsNotExist(err) {
		t.Errorf("m.yaml: %v", err)
	}
}

func TestInitRefusesBeforeAnyCall(t *testing.T) {
	srv := initAccount(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"init"}, "mfabulk: hint: pass --users-without-mfa"},
		{[]string{"init", "--users-without-mfa", "--path-prefix", "/staff"}, `--path-prefix "/staff" is not an IAM path`},
		{[]string{"init", "--users-without-mfa", "--group", "arn:aws:iam::1:group/eng"}, "is not an IAM group name"},
		{[]string{"init", "--users-without-mfa", "extra"}, "unknown command"},
	} {
		_, stderr, code := runSplit(tc.args...)
		if code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %s", tc.args, code, stderr)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d kinds of request made: %v", n, srv.Requests())
	}
}

func TestInitFlagsParse(t *testing.T) {
	var got *initOpts
	cmd := newInitCmd(IO{}, func(_ context.Context, o *initOpts) error { got = o; return nil })
	t.Setenv("MFABULK_GROUP", "eng")
	if err := execWith(t, cmd, "--users-without-mfa", "--path-prefix", "/staff/", "-o", "m.yaml", "--call-timeout", "1m"); err != nil {
		t.Fatal(err)
	}
	if !got.UsersWithoutMFA || got.Group != "eng" || got.PathPrefix != "/staff/" || got.OutputFile != "m.yaml" || got.AWS.CallTimeout != time.Minute {
		t.Errorf("init options: %+v", got)
	}
}
