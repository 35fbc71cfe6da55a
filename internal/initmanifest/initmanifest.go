// Package initmanifest writes a first manifest from the account, for
// "mfabulk init": one device per IAM user that has no MFA device, each
// named after its user and enabled for that user by apply, with the
// recipients left for a person to fill in.
package initmanifest

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/device"
)

// API is what finding the users without MFA reads from IAM;
// [iamclient.Client] satisfies it.
type API interface {
	UsersUnder(ctx context.Context, pathPrefix string) ([]iamclient.User, error)
	GroupUsers(ctx context.Context, group string) ([]iamclient.User, error)
	UsersWithVirtualMFA(ctx context.Context) ([]string, error)
	UserDevices(ctx context.Context, user string) ([]string, error)
}

// DefaultParallelism is how many ListMFADevices calls are in flight at once.
const DefaultParallelism = 8

// Options select the users.
type Options struct {
	Group       string // only this group's members (GetGroup); "" for every user (ListUsers)
	PathPrefix  string // only users whose path begins with it; "" for all
	Parallelism int    // ListMFADevices calls in flight; 0 is DefaultParallelism
}

// UsersWithoutMFA returns the names of the selected users that have no
// MFA device of any kind, sorted by name (case-insensitively, as IAM
// compares names), and how many users were selected.
func UsersWithoutMFA(ctx context.Context, api API, opts Options) ([]string, int, error) {
	var users []iamclient.User
	var err error
	if opts.Group != "" {
		users, err = api.GroupUsers(ctx, opts.Group)
	} else {
		users, err = api.UsersUnder(ctx, opts.PathPrefix)
	}
	if err != nil {
		return nil, 0, err
	}
	if opts.Group != "" && opts.PathPrefix != "" {
		// GetGroup has no path prefix of its own.
		users = slices.DeleteFunc(users, func(u iamclient.User) bool { return !strings.HasPrefix(u.Path, opts.PathPrefix) })
	}

	// One paginated read of the account's assigned virtual devices rules
	// out most users at once, instead of a call per user.
	virtual, err := api.UsersWithVirtualMFA(ctx)
	if err != nil {
		return nil, 0, err
	}
	hasVirtual := make(map[string]bool, len(virtual))
	for _, name := range virtual {
		hasVirtual[strings.ToLower(name)] = true
	}
	var candidates []string
	for _, u := range users {
		if !hasVirtual[strings.ToLower(u.Name)] {
			candidates = append(candidates, u.Name)
		}
	}

	// ListVirtualMFADevices does not show hardware TOTP tokens, U2F or
	// FIDO security keys: only ListMFADevices, per user, does. So each
	// remaining candidate gets one call. They run concurrently to keep a
	// large account quick, but only a few at a time, so that a cohort of
	// thousands does not burst into IAM's request rate limit (Throttling
	// would be retried, but slowly).
	parallelism := opts.Parallelism
	if parallelism <= 0 {
		parallelism = DefaultParallelism
	}
	without := make([]bool, len(candidates))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallelism)
	for i, name := range candidates {
		g.Go(func() error {
			serials, err := api.UserDevices(gctx, name)
			switch {
			case device.ErrorCode(err) == "NoSuchEntity":
				return nil // deleted since it was listed: nothing to provision
			case err != nil:
				return fmt.Errorf("user %s: %w", name, err)
			}
			without[i] = len(serials) == 0
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, 0, err
	}
	var out []string
	for i, name := range candidates {
		if without[i] {
			out = append(out, name)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return out, len(users), nil
}

// pathRE and nameRE are the manifest's rules for paths and device names
// (rules path-pattern and name-pattern).
var (
	pathRE = regexp.MustCompile(`^(/|/[\x21-\x7E]+/)$`)
	nameRE = regexp.MustCompile(`^[\w+=,.@-]+$`)
)

const (
	maxPathLen = 512
	maxNameLen = 226
)

// ValidPath reports whether p is an IAM path a manifest accepts: "/" or
// "/a/b/".
func ValidPath(p string) bool { return len(p) <= maxPathLen && pathRE.MatchString(p) }

// validName reports whether name can name a device. IAM user names are a
// subset of device names, so every user's name can; this is a guard.
func validName(name string) bool { return len(name) <= maxNameLen && nameRE.MatchString(name) }

// Header is what the manifest's opening comment says about its origin.
type Header struct {
	Account    string
	Generated  time.Time
	Group      string
	PathPrefix string
	Read       int // users selected, with or without MFA
}

// Render writes the manifest for users: version 1; defaults with the path
// (the path prefix, else "/"), user "{{.Name}}" and empty recipients for a
// person to fill in; one device per user, named after it. Names that
// cannot name a device are left out and returned.
func Render(h Header, users []string) (data []byte, skipped []string) {
	var devices []string
	for _, u := range users {
		if validName(u) {
			devices = append(devices, u)
		} else {
			skipped = append(skipped, u)
		}
	}
	path := h.PathPrefix
	if path == "" {
		path = "/"
	}
	var b strings.Builder
	selection := "every IAM user"
	switch {
	case h.Group != "" && h.PathPrefix != "":
		selection = fmt.Sprintf("the members of IAM group %s under path %s", h.Group, h.PathPrefix)
	case h.Group != "":
		selection = fmt.Sprintf("the members of IAM group %s", h.Group)
	case h.PathPrefix != "":
		selection = fmt.Sprintf("the IAM users under path %s", h.PathPrefix)
	}
	fmt.Fprintf(&b, "# Generated by mfabulk init --users-without-mfa on %s\n", h.Generated.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "# from AWS account %s.\n", h.Account)
	fmt.Fprintf(&b, "# Users read: %s (%d).\n", selection, h.Read)
	fmt.Fprintf(&b, "# Without an MFA device: %d, the devices below. Each is named after its\n", len(devices))
	b.WriteString("# user, and apply enables it for that user (user: \"{{.Name}}\").\n")
	b.WriteString("#\n")
	b.WriteString("# To fill in before plan and apply: recipients. In defaults, the escrow\n")
	b.WriteString("# key; on each device, its person's own key:\n")
	b.WriteString("#   - name: alice\n")
	b.WriteString("#     recipients: [age1…]\n")
	b.WriteString("# Until then, mfabulk validate reports recipient-required.\n")
	b.WriteString("version: 1\n")
	b.WriteString("defaults:\n")
	fmt.Fprintf(&b, "  path: %s\n", scalar(path))
	b.WriteString("  user: \"{{.Name}}\"\n")
	b.WriteString("  # recipients: [age1…]  # the escrow key, and each person's own key on their device\n")
	b.WriteString("  recipients: []\n")
	b.WriteString("devices:\n")
	for _, d := range devices {
		fmt.Fprintf(&b, "  - name: %s\n", scalar(d))
	}
	return []byte(b.String()), skipped
}

// plainRE is a conservative set of strings that YAML reads as the same
// string when written plain.
var plainRE = regexp.MustCompile(`^[A-Za-z_/][A-Za-z0-9_./-]*$`)

// scalar writes s as a YAML scalar: plain when that reads back as the same
// string, else double-quoted. Names and paths are printable ASCII, for
// which Go's quoting escapes only '"' and '\', as YAML's does.
func scalar(s string) string {
	switch strings.ToLower(s) {
	case "y", "n", "yes", "no", "on", "off", "true", "false", "null":
		return strconv.Quote(s)
	}
	if plainRE.MatchString(s) {
		return s
	}
	return strconv.Quote(s)
}
