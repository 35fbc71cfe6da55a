package iamlocal_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal/localtest"
	"github.com/mfabulk/mfabulk/internal/totp"
)

// clock is a settable server clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// start runs an iamlocal account on clk and returns the real SDK's IAM
// client for it. The client retries only a connection that net/http closed
// under a read (net.ErrClosed), at most twice: under -race the transport
// now and then closes a kept-alive connection while the body of the answer
// is being read (aws/aws-sdk-go-v2#2737, which the SDK's default retryer
// retries for the same reason). Every other error, throttling included, is
// the test's to see on the first attempt.
func start(t *testing.T, clk *clock, opts iamlocal.Options) (*iamlocal.Server, *iam.Client) {
	t.Helper()
	if clk != nil {
		opts.Now = clk.Now
	}
	srv, url := localtest.Start(t, opts)
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return srv, iam.NewFromConfig(cfg, func(o *iam.Options) {
		o.BaseEndpoint = aws.String(url)
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 3
			so.Retryables = []retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
				return aws.BoolTernary(errors.Is(err, net.ErrClosed))
			})}
		})
	})
}

// sdkRetries gives one call the SDK's standard retryer (3 attempts), for
// the tests of what a retrying client sees.
func sdkRetries(o *iam.Options) {
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) { so.MaxAttempts = 3 })
}

// t0 is a fixed server time in the middle of a 30-second step.
var t0 = time.Date(2026, 3, 14, 15, 9, 15, 0, time.UTC)

var ctx = context.Background()

// createDevice makes a device with the SDK and returns its serial and the
// seed that the create response carried.
func createDevice(t *testing.T, c *iam.Client, name string) (string, []byte) {
	t.Helper()
	out, err := c.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.VirtualMFADevice.SerialNumber), out.VirtualMFADevice.Base32StringSeed
}

func pair(t *testing.T, seed []byte, at time.Time) (string, string) {
	t.Helper()
	first, second, err := totp.Pair(seed, at)
	if err != nil {
		t.Fatal(err)
	}
	return first, second
}

func enable(c *iam.Client, user, serial, first, second string) error {
	_, err := c.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{
		UserName: aws.String(user), SerialNumber: aws.String(serial),
		AuthenticationCode1: aws.String(first), AuthenticationCode2: aws.String(second),
	})
	return err
}

// wantAPIError checks that err is IAM error code with HTTP status.
func wantAPIError(t *testing.T, what string, err error, code string, status int) {
	t.Helper()
	var re *smithyhttp.ResponseError
	if err == nil || !strings.Contains(err.Error(), code) || !errors.As(err, &re) || re.HTTPStatusCode() != status {
		t.Errorf("%s: err = %v, want %s (%d)", what, err, code, status)
	}
}

func listVirtual(t *testing.T, c *iam.Client, status types.AssignmentStatusType) []types.VirtualMFADevice {
	t.Helper()
	out, err := c.ListVirtualMFADevices(ctx, &iam.ListVirtualMFADevicesInput{AssignmentStatus: status})
	if err != nil {
		t.Fatal(err)
	}
	return out.VirtualMFADevices
}

// TestEnableMFADevice walks a device through IAM's assignment: wrong codes
// are refused, right ones assign it, it is listed as assigned with its
// real user, it cannot be enabled again nor deleted, deactivating frees it,
// and the codes that enabled it once cannot enable it again.
func TestEnableMFADevice(t *testing.T) {
	clk := &clock{t: t0}
	srv, c := start(t, clk, iamlocal.Options{})
	if err := srv.CreateUser("alice", "/staff/"); err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateUser("bob", ""); err != nil {
		t.Fatal(err)
	}
	serial, seed := createDevice(t, c, "alice-phone")
	spare, _ := createDevice(t, c, "spare")
	first, second := pair(t, seed, clk.Now())

	wrong := fmt.Sprintf("%06d", (atoi(second)+1)%1000000)
	err := enable(c, "alice", serial, first, wrong)
	var invalid *types.InvalidAuthenticationCodeException
	if !errors.As(err, &invalid) || invalid.ErrorMessage() != "Authentication code for the MFA device is not valid." {
		t.Errorf("wrong second code: %v, want InvalidAuthenticationCode", err)
	}
	wantAPIError(t, "wrong second code", err, "InvalidAuthenticationCode", http.StatusForbidden)
	wantAPIError(t, "codes swapped", enable(c, "alice", serial, second, first), "InvalidAuthenticationCode", http.StatusForbidden)
	wantAPIError(t, "unknown user", enable(c, "carol", serial, first, second), "NoSuchEntity", http.StatusNotFound)
	wantAPIError(t, "unknown device", enable(c, "alice", serial+"x", first, second), "NoSuchEntity", http.StatusNotFound)
	wantAPIError(t, "five digits", enable(c, "alice", serial, first[:5], second), "ValidationError", http.StatusBadRequest)
	if d, _ := srv.Device("alice-phone"); d.User != "" {
		t.Fatalf("a refused enable assigned the device to %q", d.User)
	}

	clk.Add(20 * time.Second) // the person typed for a while
	if err := enable(c, "ALICE", serial, first, second); err != nil {
		t.Fatalf("enable with the right codes: %v", err)
	}
	d, _ := srv.Device("alice-phone")
	if d.User != "alice" || !d.EnableDate.Equal(t0.Add(20*time.Second)) {
		t.Errorf("device: User %q EnableDate %v, want alice at %v", d.User, d.EnableDate, t0.Add(20*time.Second))
	}

	alice, _ := srv.User("alice")
	if !strings.HasPrefix(alice.ID, "AIDA") || alice.Arn != "arn:aws:iam::123456789012:user/staff/alice" {
		t.Errorf("user %+v", alice)
	}
	assigned := listVirtual(t, c, types.AssignmentStatusTypeAssigned)
	if len(assigned) != 1 || aws.ToString(assigned[0].SerialNumber) != serial {
		t.Fatalf("Assigned lists %d devices, want only %s", len(assigned), serial)
	}
	if u := assigned[0].User; u == nil || aws.ToString(u.UserName) != "alice" || aws.ToString(u.Path) != "/staff/" ||
		aws.ToString(u.UserId) != alice.ID || aws.ToString(u.Arn) != alice.Arn || !aws.ToTime(u.CreateDate).Equal(t0) {
		t.Errorf("Assigned device's User = %+v, want alice's %+v", u, alice)
	}
	if !aws.ToTime(assigned[0].EnableDate).Equal(d.EnableDate) {
		t.Errorf("EnableDate %v, want %v", assigned[0].EnableDate, d.EnableDate)
	}
	if un := listVirtual(t, c, types.AssignmentStatusTypeUnassigned); len(un) != 1 || aws.ToString(un[0].SerialNumber) != spare || un[0].User != nil {
		t.Errorf("Unassigned lists %+v, want only %s", un, spare)
	}
	if all := listVirtual(t, c, types.AssignmentStatusTypeAny); len(all) != 2 {
		t.Errorf("Any lists %d devices, want 2", len(all))
	}
	mfa, err := c.ListMFADevices(ctx, &iam.ListMFADevicesInput{UserName: aws.String("alice")})
	if err != nil || len(mfa.MFADevices) != 1 || aws.ToString(mfa.MFADevices[0].SerialNumber) != serial ||
		aws.ToString(mfa.MFADevices[0].UserName) != "alice" || !aws.ToTime(mfa.MFADevices[0].EnableDate).Equal(d.EnableDate) {
		t.Errorf("ListMFADevices(alice) = %+v, %v", mfa, err)
	}

	// Assigned to anyone, the device cannot be enabled again, whatever the codes.
	wantAPIError(t, "enable again", enable(c, "alice", serial, first, second), "EntityAlreadyExists", http.StatusConflict)
	f2, s2 := pair(t, seed, clk.Now())
	wantAPIError(t, "enable for bob", enable(c, "bob", serial, f2, s2), "EntityAlreadyExists", http.StatusConflict)
	_, err = c.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: aws.String(serial)})
	wantAPIError(t, "delete assigned", err, "DeleteConflict", http.StatusConflict)

	// Deactivating needs the device's own user.
	_, err = c.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{UserName: aws.String("bob"), SerialNumber: aws.String(serial)})
	wantAPIError(t, "deactivate for bob", err, "NoSuchEntity", http.StatusNotFound)
	if _, err := c.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{UserName: aws.String("alice"), SerialNumber: aws.String(serial)}); err != nil {
		t.Fatalf("deactivate: %v", err)
	}
	if d, _ := srv.Device("alice-phone"); d.User != "" || !d.EnableDate.IsZero() {
		t.Errorf("deactivated device: %q %v", d.User, d.EnableDate)
	}
	if a := listVirtual(t, c, types.AssignmentStatusTypeAssigned); len(a) != 0 {
		t.Errorf("Assigned lists %d devices after deactivating", len(a))
	}
	// Codes IAM has accepted are spent, even inside the window.
	wantAPIError(t, "the same codes again", enable(c, "bob", serial, first, second), "InvalidAuthenticationCode", http.StatusForbidden)
	clk.Add(totp.Step)
	f3, s3 := pair(t, seed, clk.Now())
	if err := enable(c, "bob", serial, f3, s3); err != nil {
		t.Errorf("enable for bob with fresh codes: %v", err)
	}
	// Deleted once unassigned.
	if _, err := c.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{UserName: aws.String("bob"), SerialNumber: aws.String(serial)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: aws.String(serial)}); err != nil {
		t.Errorf("delete after deactivating: %v", err)
	}
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

// TestEnableClockSkew: the server accepts codes up to two steps from its
// clock, and refuses codes read ten minutes before (or after) its time.
func TestEnableClockSkew(t *testing.T) {
	clk := &clock{t: t0}
	srv, c := start(t, clk, iamlocal.Options{})
	srv.CreateUser("alice", "/")
	for _, tc := range []struct {
		skew time.Duration // server time minus the codes' time
		ok   bool
	}{
		{10 * time.Minute, false},
		{-10 * time.Minute, false},
		{3 * totp.Step, false},
		{2 * totp.Step, true},
		{-totp.Step, true},
		{0, true},
	} {
		serial, seed := createDevice(t, c, fmt.Sprintf("skew%d", int(tc.skew.Seconds())))
		first, second := pair(t, seed, clk.Now().Add(-tc.skew))
		err := enable(c, "alice", serial, first, second)
		if tc.ok && err != nil {
			t.Errorf("server %v ahead of the codes: %v", tc.skew, err)
		}
		if !tc.ok {
			wantAPIError(t, fmt.Sprintf("server %v ahead of the codes", tc.skew), err, "InvalidAuthenticationCode", http.StatusForbidden)
		}
	}
}

// TestEnableLimitPerUser: a user has at most 8 MFA devices; the 9th
// enable is LimitExceeded, and another user is not affected.
func TestEnableLimitPerUser(t *testing.T) {
	clk := &clock{t: t0}
	srv, c := start(t, clk, iamlocal.Options{})
	srv.CreateUser("alice", "/")
	srv.CreateUser("bob", "/")
	for i := range iamlocal.MaxMFADevicesPerUser + 1 {
		name := fmt.Sprintf("d%d", i)
		if err := srv.CreateDevice(name, "/"); err != nil {
			t.Fatal(err)
		}
		d, _ := srv.Device(name)
		first, second := pair(t, d.Seed, clk.Now()) // the test API's live seed
		err := enable(c, "alice", d.Serial, first, second)
		if i < iamlocal.MaxMFADevicesPerUser && err != nil {
			t.Fatalf("device %d: %v", i+1, err)
		}
		if i == iamlocal.MaxMFADevicesPerUser {
			wantAPIError(t, "9th device", err, "LimitExceeded", http.StatusConflict)
			if err := enable(c, "bob", d.Serial, first, second); err != nil {
				t.Errorf("bob's first device: %v", err)
			}
		}
	}
	mfa, err := c.ListMFADevices(ctx, &iam.ListMFADevicesInput{UserName: aws.String("alice"), MaxItems: aws.Int32(5)})
	if err != nil || len(mfa.MFADevices) != 5 || !mfa.IsTruncated {
		t.Fatalf("ListMFADevices MaxItems 5: %+v %v", mfa, err)
	}
	n := 0
	p := iam.NewListMFADevicesPaginator(c, &iam.ListMFADevicesInput{UserName: aws.String("alice"), MaxItems: aws.Int32(3)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.MFADevices)
	}
	if n != iamlocal.MaxMFADevicesPerUser {
		t.Errorf("alice has %d devices listed, want %d", n, iamlocal.MaxMFADevicesPerUser)
	}
}

// TestUsers: CreateUser, GetUser (the caller without a name), ListUsers
// paging over 250 users and PathPrefix, and ListMFADevices of the caller.
func TestUsers(t *testing.T) {
	srv, c := start(t, &clock{t: t0}, iamlocal.Options{})
	out, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("Zed"), Path: aws.String("/ops/"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("payments")}}})
	if err != nil {
		t.Fatal(err)
	}
	if u := out.User; aws.ToString(u.Arn) != "arn:aws:iam::123456789012:user/ops/Zed" || !aws.ToTime(u.CreateDate).Equal(t0) ||
		len(u.Tags) != 1 || aws.ToString(u.Tags[0].Value) != "payments" {
		t.Errorf("CreateUser returned %+v", u)
	}
	_, err = c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("zed")})
	wantAPIError(t, "a user named zed again, in another case", err, "EntityAlreadyExists", http.StatusConflict)
	_, err = c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("a b")})
	wantAPIError(t, "a name with a space", err, "ValidationError", http.StatusBadRequest)
	got, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("ZED")})
	if err != nil || aws.ToString(got.User.UserName) != "Zed" || aws.ToString(got.User.Path) != "/ops/" {
		t.Errorf("GetUser(ZED) = %+v, %v", got, err)
	}
	me, err := c.GetUser(ctx, &iam.GetUserInput{})
	if err != nil || aws.ToString(me.User.UserName) != "iamlocal" || aws.ToString(me.User.Arn) != "arn:aws:iam::123456789012:user/iamlocal" {
		t.Errorf("GetUser() = %+v, %v; want the caller", me, err)
	}
	_, err = c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("nobody")})
	wantAPIError(t, "GetUser(nobody)", err, "NoSuchEntity", http.StatusNotFound)

	for i := range 250 {
		if err := srv.CreateUser(fmt.Sprintf("user%03d", i), "/bulk/"); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	pages := 0
	p := iam.NewListUsersPaginator(c, &iam.ListUsersInput{MaxItems: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, u := range page.Users {
			names = append(names, aws.ToString(u.UserName))
		}
	}
	if len(names) != 252 || pages != 3 || !sort.SliceIsSorted(names, func(i, j int) bool { return strings.ToLower(names[i]) < strings.ToLower(names[j]) }) {
		t.Errorf("ListUsers: %d users in %d pages (want 252 in 3, by name)", len(names), pages)
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("%s listed twice", n)
		}
		seen[n] = true
	}
	bulk, err := c.ListUsers(ctx, &iam.ListUsersInput{PathPrefix: aws.String("/bulk/")})
	if err != nil {
		t.Fatalf("ListUsers /bulk/: %v", err)
	}
	if len(bulk.Users) != 100 || !bulk.IsTruncated {
		t.Errorf("ListUsers /bulk/: %d users, truncated %v, %v", len(bulk.Users), bulk.IsTruncated, err)
	}
	ops, err := c.ListUsers(ctx, &iam.ListUsersInput{PathPrefix: aws.String("/op")})
	if err != nil || len(ops.Users) != 1 || aws.ToString(ops.Users[0].UserName) != "Zed" || ops.IsTruncated {
		t.Errorf("ListUsers /op: %+v, %v", ops.Users, err)
	}

	// Without UserName, ListMFADevices lists the caller's devices.
	srv.CreateDevice("mine", "/")
	srv.CreateDevice("zeds", "/")
	if err := srv.Assign("mine", "iamlocal"); err != nil {
		t.Fatal(err)
	}
	srv.Assign("zeds", "Zed")
	mfa, err := c.ListMFADevices(ctx, &iam.ListMFADevicesInput{})
	if err != nil || len(mfa.MFADevices) != 1 || aws.ToString(mfa.MFADevices[0].SerialNumber) != "arn:aws:iam::123456789012:mfa/mine" {
		t.Errorf("ListMFADevices() = %+v, %v; want the caller's device", mfa, err)
	}
	// Assign makes a user it does not know.
	srv.CreateDevice("x", "/")
	if err := srv.Assign("x", "newcomer"); err != nil {
		t.Fatal(err)
	}
	if u, ok := srv.User("newcomer"); !ok || u.Path != "/" {
		t.Errorf("Assign did not create the user: %+v", u)
	}
}

// TestEnableUnderFaults: the new calls are mutating for the fault
// injector. A dropped enable is committed, so the SDK's own retry meets
// EntityAlreadyExists; ConcurrentModification refuses it uncommitted.
func TestEnableUnderFaults(t *testing.T) {
	clk := &clock{t: t0}
	srv, c := start(t, clk, iamlocal.Options{})
	srv.CreateUser("alice", "/")
	serial, seed := createDevice(t, c, "phone")
	first, second := pair(t, seed, clk.Now())

	srv.SetFaults(iamlocal.Faults{ConcurrentModification: 1})
	wantAPIError(t, "ConcurrentModification", enable(c, "alice", serial, first, second), "ConcurrentModification", http.StatusConflict)
	_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob")})
	wantAPIError(t, "CreateUser under ConcurrentModification", err, "ConcurrentModification", http.StatusConflict)
	if d, _ := srv.Device("phone"); d.User != "" {
		t.Fatal("a refused enable was committed")
	}

	srv.SetFaults(iamlocal.Faults{DropAfterCommit: 1})
	_, err = c.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{
		UserName: aws.String("alice"), SerialNumber: aws.String(serial),
		AuthenticationCode1: aws.String(first), AuthenticationCode2: aws.String(second),
	}, sdkRetries)
	wantAPIError(t, "the retry of a dropped enable", err, "EntityAlreadyExists", http.StatusConflict)
	if d, _ := srv.Device("phone"); d.User != "alice" {
		t.Errorf("the dropped enable was not committed: User %q", d.User)
	}
	if n := srv.Injected()["DropAfterCommit"]; n != 1 {
		t.Errorf("DropAfterCommit injected %d times, want 1", n)
	}
	_, err = c.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{UserName: aws.String("alice"), SerialNumber: aws.String(serial)},
		sdkRetries)
	wantAPIError(t, "the retry of a dropped deactivate", err, "NoSuchEntity", http.StatusNotFound)

	srv.SetFaults(iamlocal.Faults{HangAfterCommit: 1, HangActions: []string{"CreateUser"}})
	hctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := c.CreateUser(hctx, &iam.CreateUserInput{UserName: aws.String("held")}); err == nil {
		t.Error("a held CreateUser was answered")
	}
	if _, ok := srv.User("held"); !ok {
		t.Error("the held CreateUser was not committed")
	}
}
