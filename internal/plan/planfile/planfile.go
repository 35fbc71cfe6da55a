// Package planfile writes a plan to a file for a later apply, and checks
// on apply that nothing it was computed from has changed since.
//
// A saved plan records the manifests it read (paths), the options, the
// plan itself (as a jsonplan document, for reviewers and tools) and a
// fingerprint: a SHA-256 over the tool version, each manifest file's
// content, the resolved devices (recipients above all, which may come from
// recipients files), every observed device (serial, user, enable date),
// the users and their MFA device counts,
// the tags and create IDs read, what the outfile folders hold (outfiles,
// records, intents) and the options. Apply recomputes
// the plan from the same manifests and options and refuses when the
// fingerprint differs. A saved plan holds no secret.
package planfile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/mfabulk/mfabulk/internal/atomicfile"
	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/inputfile"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/plan/jsonplan"
)

// FormatVersion is the saved plan file's format.
const FormatVersion = "1"

// AccountsFormatVersion is the format of a saved plan over several
// accounts (File.Accounts set).
const AccountsFormatVersion = "2"

// ErrStale is returned by [File.Check] when the plan no longer matches.
var ErrStale = errors.New("saved plan is stale: the manifest or the account changed since it was made; run plan again")

// File is a saved plan.
type File struct {
	FormatVersion string       `json:"format_version"`
	Fingerprint   string       `json:"fingerprint"`
	Manifests     []string     `json:"manifests"`
	Options       plan.Options `json:"options"`
	Plan          jsonplan.Doc `json:"plan"`
	// RoleTemplate is the run's --role, so that apply assumes the role
	// the plan was made through; "" when none was given.
	RoleTemplate string `json:"role_template,omitempty"`
	// Over several accounts (format "2"): each account's fingerprint (""
	// for an account no --target named), and the plan as plan -o json
	// printed it; Plan is then empty, and Fingerprint is over every
	// account's (AccountsFingerprint).
	AccountFingerprints map[string]string  `json:"account_fingerprints,omitempty"`
	Accounts            *jsonplan.Accounts `json:"accounts,omitempty"`
}

// AccountsFingerprint is the fingerprint of a plan over several accounts:
// a hash of each account's, so that a change in any account makes the
// whole plan stale.
func AccountsFingerprint(byAccount map[string]string) string {
	h := sha256.New()
	for _, a := range slices.Sorted(maps.Keys(byAccount)) {
		fmt.Fprintf(h, "%s %s\n", a, byAccount[a])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// CheckAccounts compares recomputed fingerprints, by account, with the
// saved ones; its error names the accounts that changed.
func (f File) CheckAccounts(byAccount map[string]string) error {
	if f.Accounts == nil {
		return ErrStale // a plan of one account; the manifests are now for several
	}
	var changed []string
	for _, a := range slices.Sorted(maps.Keys(byAccount)) {
		if saved, ok := f.AccountFingerprints[a]; !ok || saved != byAccount[a] {
			changed = append(changed, a)
		}
	}
	for a := range f.AccountFingerprints {
		if _, ok := byAccount[a]; !ok {
			changed = append(changed, a)
		}
	}
	if len(changed) > 0 || AccountsFingerprint(byAccount) != f.Fingerprint {
		return fmt.Errorf("%w (account(s) %s)", ErrStale, strings.Join(changed, ", "))
	}
	return nil
}

// Fingerprint hashes everything a plan was computed from.
func Fingerprint(toolVersion string, m *manifest.Manifest, obs plan.Observed, opts plan.Options) string {
	h := sha256.New()
	line := func(parts ...any) { fmt.Fprintln(h, parts...) }
	line("mfabulk", toolVersion, "savedplan", FormatVersion)
	for i, f := range m.Files {
		line("manifest", f, m.Digests[i])
	}
	// What apply acts on, resolved: above all the recipients, which decide
	// who can decrypt and may come from recipients files that the
	// manifests' digests do not cover.
	for _, d := range m.Devices {
		line("desired", d.Name, d.Path, d.Bootstrap, d.Outfile, d.User)
		line("recipients", d.Name, d.Recipients)
		for _, k := range slices.Sorted(maps.Keys(d.Tags)) {
			line("desired-tag", d.Name, k, d.Tags[k])
		}
	}
	line("account", obs.Account, obs.Partition)
	devices := append(obs.Devices[:0:0], obs.Devices...)
	slices.SortFunc(devices, func(a, b device.Observed) int { return strings.Compare(a.Serial, b.Serial) })
	for _, d := range devices {
		line("device", d.Serial, d.User, d.EnableDate.UTC().Format(time.RFC3339))
	}
	for _, name := range slices.Sorted(maps.Keys(obs.Tags)) {
		for _, k := range slices.Sorted(maps.Keys(obs.Tags[name])) {
			line("tag", name, k, obs.Tags[name][k])
		}
	}
	for _, name := range slices.Sorted(maps.Keys(obs.Local)) {
		// Proofs are the folder's secrets: whether each is held counts,
		// not its value, which never leaves the folder.
		l := obs.Local[name]
		l.RecordProof, l.IntentProof, l.ReplacesProof = held(l.RecordProof), held(l.IntentProof), held(l.ReplacesProof)
		line("local", name, fmt.Sprintf("%+v", l))
	}
	for _, name := range slices.Sorted(maps.Keys(obs.CreateIDs)) {
		line("create-id", name, obs.CreateIDs[name])
	}
	line("tags-unsupported", obs.TagsUnsupported)
	line("users", obs.Users != nil, slices.Sorted(maps.Values(obs.Users)))
	for _, u := range slices.Sorted(maps.Keys(obs.UserMFA)) {
		line("user-mfa", u, obs.UserMFA[u])
	}
	for _, name := range slices.Sorted(maps.Keys(obs.Busy)) {
		line("busy", name)
	}
	line("options", opts.ManageTags, opts.Prune, sorted(opts.Scopes), sorted(opts.Targets), sorted(opts.Replace))
	return hex.EncodeToString(h.Sum(nil))
}

// Write saves f as indented JSON to path, replacing it atomically, but
// only when path is new or holds an earlier saved plan: a saved plan never
// takes the place of another file (an identity, a manifest, a link).
func Write(path string, f File) error {
	f.FormatVersion = FormatVersion
	if f.Accounts != nil {
		f.FormatVersion = AccountsFormatVersion
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.ReplaceOwn(path, append(b, '\n'), IsSavedPlan)
}

// IsSavedPlan recognises a saved plan of any mfabulk version by its shape.
func IsSavedPlan(data []byte) bool {
	var f struct {
		FormatVersion *string          `json:"format_version"`
		Fingerprint   *string          `json:"fingerprint"`
		Plan          *json.RawMessage `json:"plan"`
	}
	return json.Unmarshal(data, &f) == nil && f.FormatVersion != nil && f.Fingerprint != nil && f.Plan != nil
}

// MaxSize bounds a saved plan file; a plan of thousands of devices is a
// few megabytes.
const MaxSize = 64 << 20

// Read loads a saved plan. It refuses anything but a regular file of at
// most MaxSize bytes, so that a FIFO or a device cannot hang apply.
func Read(path string) (File, error) {
	data, err := inputfile.Read(path, MaxSize)
	if err != nil {
		return File{}, fmt.Errorf("reading saved plan: %w", err)
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return File{}, fmt.Errorf("%s is not a saved plan: %w", path, err)
	}
	if (f.FormatVersion != FormatVersion && f.FormatVersion != AccountsFormatVersion) || f.Fingerprint == "" ||
		(f.FormatVersion == AccountsFormatVersion) != (f.Accounts != nil) {
		return File{}, fmt.Errorf("%s is not a saved plan of this mfabulk (format %q)", path, f.FormatVersion)
	}
	return f, nil
}

// Check compares a recomputed fingerprint with the saved one.
func (f File) Check(fingerprint string) error {
	if fingerprint != f.Fingerprint {
		return ErrStale
	}
	return nil
}

func held(proof string) string {
	if proof == "" {
		return ""
	}
	return "held"
}

func sorted(ss []string) []string { return slices.Sorted(slices.Values(ss)) }
