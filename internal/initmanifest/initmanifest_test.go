package initmanifest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/manifest"
)

// fakeIAM is an account: users with paths, groups, and the MFA devices of
// each user, virtual ones (ListVirtualMFADevices shows them) or not.
type fakeIAM struct {
	users    []iamclient.User
	groups   map[string][]string
	virtual  map[string]bool
	hardware map[string]bool
	fail     map[string]error // ListMFADevices answers for a user

	mu          sync.Mutex
	listed      []string // users ListMFADevices was called for
	inFlight    atomic.Int32
	maxInFlight atomic.Int32
}

func (f *fakeIAM) UsersUnder(_ context.Context, prefix string) ([]iamclient.User, error) {
	var out []iamclient.User
	for _, u := range f.users {
		if strings.HasPrefix(u.Path, prefix) {
			out = append(out, u)
		}
	}
	return out, nil
}

func (f *fakeIAM) GroupUsers(_ context.Context, group string) ([]iamclient.User, error) {
	members, ok := f.groups[group]
	if !ok {
		return nil, &device.APIError{Code: "NoSuchEntity", Refused: true, Err: errors.New("no group " + group)}
	}
	var out []iamclient.User
	for _, u := range f.users {
		if slices.ContainsFunc(members, func(m string) bool { return strings.EqualFold(m, u.Name) }) {
			out = append(out, u)
		}
	}
	return out, nil
}

func (f *fakeIAM) UsersWithVirtualMFA(context.Context) ([]string, error) {
	var out []string
	for u := range f.virtual {
		out = append(out, strings.ToUpper(u)) // IAM names ignore case
	}
	return out, nil
}

func (f *fakeIAM) UserDevices(_ context.Context, user string) ([]string, error) {
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		m := f.maxInFlight.Load()
		if n <= m || f.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(time.Millisecond)
	f.mu.Lock()
	f.listed = append(f.listed, user)
	f.mu.Unlock()
	if err := f.fail[user]; err != nil {
		return nil, err
	}
	var out []string
	if f.virtual[user] {
		out = append(out, "arn:aws:iam::123456789012:mfa/"+user)
	}
	if f.hardware[user] {
		out = append(out, "GAHT12345678")
	}
	return out, nil
}

func newFake() *fakeIAM {
	f := &fakeIAM{
		groups:   map[string][]string{"eng": {"carol", "dave", "erin", "alice"}},
		virtual:  map[string]bool{"alice": true},
		hardware: map[string]bool{"bob": true},
	}
	for _, u := range []string{"erin", "Dave", "carol", "bob", "alice"} {
		f.users = append(f.users, iamclient.User{Name: u, Path: "/"})
	}
	f.users[0].Path = "/staff/"
	f.users[2].Path = "/staff/eng/"
	for i := range 40 {
		f.users = append(f.users, iamclient.User{Name: "bulk" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Path: "/bulk/"})
	}
	return f
}

func TestUsersWithoutMFA(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	got, read, err := UsersWithoutMFA(ctx, f, Options{PathPrefix: "/staff/"})
	if err != nil || read != 2 || !slices.Equal(got, []string{"carol", "erin"}) {
		t.Errorf("--path-prefix /staff/: %q of %d, %v", got, read, err)
	}

	f = newFake()
	got, read, err = UsersWithoutMFA(ctx, f, Options{})
	if err != nil || read != 45 || len(got) != 43 || !slices.Equal(got[:5], []string{"bulkaa", "bulkab", "bulkba", "bulkbb", "bulkca"}) ||
		!slices.Equal(got[40:], []string{"carol", "Dave", "erin"}) {
		t.Errorf("every user: %q of %d, %v", got, read, err)
	}
	// alice has a virtual device: no ListMFADevices call for her. bob's
	// is hardware: only the call finds it.
	if slices.Contains(f.listed, "alice") || !slices.Contains(f.listed, "bob") || len(f.listed) != 44 {
		t.Errorf("ListMFADevices called for %d users: %q", len(f.listed), f.listed)
	}
	if m := f.maxInFlight.Load(); m > DefaultParallelism || m < 2 {
		t.Errorf("%d ListMFADevices calls in flight at once, want 2 to %d", m, DefaultParallelism)
	}

	got, read, err = UsersWithoutMFA(ctx, newFake(), Options{Group: "eng"})
	if err != nil || read != 4 || !slices.Equal(got, []string{"carol", "Dave", "erin"}) {
		t.Errorf("--group eng: %q of %d, %v", got, read, err)
	}
	got, read, err = UsersWithoutMFA(ctx, newFake(), Options{Group: "eng", PathPrefix: "/staff/"})
	if err != nil || read != 2 || !slices.Equal(got, []string{"carol", "erin"}) {
		t.Errorf("--group eng --path-prefix /staff/: %q of %d, %v", got, read, err)
	}
	if _, _, err := UsersWithoutMFA(ctx, newFake(), Options{Group: "ops"}); device.ErrorCode(err) != "NoSuchEntity" {
		t.Errorf("a missing group: %v", err)
	}

	// A user deleted since the listing is left out; any other error ends
	// the run, naming the user.
	f = newFake()
	f.fail = map[string]error{"carol": &device.APIError{Code: "NoSuchEntity", Err: errors.New("gone")}}
	got, _, err = UsersWithoutMFA(ctx, f, Options{PathPrefix: "/staff/"})
	if err != nil || !slices.Equal(got, []string{"erin"}) {
		t.Errorf("carol deleted meanwhile: %q, %v", got, err)
	}
	f = newFake()
	f.fail = map[string]error{"carol": &device.APIError{Code: "AccessDenied", Err: errors.New("denied")}}
	if _, _, err = UsersWithoutMFA(ctx, f, Options{}); device.ErrorCode(err) != "AccessDenied" || !strings.Contains(err.Error(), "user carol") {
		t.Errorf("ListMFADevices denied: %v", err)
	}
}

func TestRenderValidates(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	users := []string{"alice", "true", "NULL", "123", "@x", "a,b", "=x", "-x", "x.y+z@example.com", "bob smith", strings.Repeat("a", 227)}
	data, skipped := Render(Header{Account: "123456789012", Generated: at, PathPrefix: `/a"b\c:d/`, Read: 12}, users)
	if !slices.Equal(skipped, []string{"bob smith", strings.Repeat("a", 227)}) {
		t.Errorf("skipped %q", skipped)
	}
	text := string(data)
	for _, want := range []string{
		"# Generated by mfabulk init --users-without-mfa on 2026-05-01T10:00:00Z\n",
		"# from AWS account 123456789012.\n# Users read: the IAM users under path /a\"b\\c:d/ (12).\n# Without an MFA device: 9, the devices below.",
		"  recipients: []\n",
		"  user: \"{{.Name}}\"\n",
		"  - name: alice\n",
		"  - name: \"true\"\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("manifest lacks %q:\n%s", want, text)
		}
	}

	// As written, every device lacks recipients, and nothing else.
	dir := t.TempDir()
	_, err := manifest.Parse("m.yaml", dir, data)
	var diags manifest.Diagnostics
	if !errors.As(err, &diags) || len(diags) != 9 {
		t.Fatalf("unfilled manifest: %v", err)
	}
	for _, d := range diags {
		if d.Rule != "recipient-required" {
			t.Errorf("unfilled manifest: %s (%s), want only recipient-required", d, d.Rule)
		}
	}

	// With a recipient it validates, and reads back every name and path.
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	filled := strings.Replace(text, "recipients: []", "recipients: ["+id.Recipient().String()+"]", 1)
	m, err := manifest.Parse("m.yaml", dir, []byte(filled))
	if err != nil {
		t.Fatalf("filled manifest: %v\n%s", err, filled)
	}
	var names []string
	for _, d := range m.Devices {
		names = append(names, d.Name)
		if d.User != d.Name || d.Path != `/a"b\c:d/` || len(d.Recipients) != 1 {
			t.Errorf("device %+v", d)
		}
	}
	if !slices.Equal(names, users[:9]) {
		t.Errorf("devices %q, want %q", names, users[:9])
	}

	data, _ = Render(Header{Account: "123456789012", Generated: at, Group: "eng", Read: 1}, []string{"alice"})
	if !strings.Contains(string(data), "  path: /\n") || !strings.Contains(string(data), "# Users read: the members of IAM group eng (1).\n") {
		t.Errorf("group manifest:\n%s", data)
	}
}

func TestValidPath(t *testing.T) {
	for p, want := range map[string]bool{"/": true, "/staff/": true, "/a/b/": true, "/staff": false, "staff/": false, "": false, "/a b/": false, "/" + strings.Repeat("a", 511): false} {
		if ValidPath(p) != want {
			t.Errorf("ValidPath(%q) = %v", p, !want)
		}
	}
}
