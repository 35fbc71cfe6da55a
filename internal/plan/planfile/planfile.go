// Package planfile writes a plan to a file for a later apply, and checks
// on apply that nothing it was computed from has changed since.
//
// A saved plan records the manifests it read (as given on the command
// line, relative to the working folder), the options, the role template,
// the plan itself (as a jsonplan document, for reviewers and tools), the
// components it was computed from ([Components]: the tool version, each
// manifest file, each device's settings and recipients, the account, the
// observed devices, the options…) and their fingerprint.
//
// A saved plan is not trusted: anyone who could write it could edit every
// field. Apply therefore takes the manifests from the operator (-f), not
// from the file, refuses the file unless it names exactly those; recomputes
// the plan; and refuses it as stale unless both the fingerprint and the
// whole plan document, regenerated, equal the saved ones ([File.Check],
// [CheckDoc]). What show-plan prints is then what apply does. A saved plan
// holds no secret.
package planfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mfabulk/mfabulk/internal/atomicfile"
	"github.com/mfabulk/mfabulk/internal/inputfile"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/plan/jsonplan"
)

// FormatVersion is the saved plan file's format. Formats "1" and "2"
// (before components and relative manifests) are refused.
const FormatVersion = "3"

// AccountsFormatVersion is the format of a saved plan over several
// accounts (File.Accounts set).
const AccountsFormatVersion = "4"

// ErrStale is returned by [File.Check], [File.CheckAccounts] and
// [CheckDoc] when the plan no longer matches; their errors wrap it and say
// what changed.
var ErrStale = errors.New("saved plan is stale")

// ErrOldFormat is returned by [Read] for a plan saved by an earlier
// mfabulk, whose format apply no longer trusts.
var ErrOldFormat = errors.New("saved by an earlier mfabulk")

// File is a saved plan.
type File struct {
	FormatVersion string `json:"format_version"`
	Fingerprint   string `json:"fingerprint"`
	// Manifests are the -f arguments plan was given, cleaned
	// (filepath.Clean), as given: relative to the working folder (or
	// absolute, when given so). Apply must be given the same.
	Manifests []string `json:"manifests"`
	// Components are what the plan was computed from, by name (see
	// [Components]); over several accounts, AccountComponents holds each
	// account's.
	Components        map[string]string            `json:"components,omitempty"`
	AccountComponents map[string]map[string]string `json:"account_components,omitempty"`
	Options           plan.Options                 `json:"options"`
	Plan              jsonplan.Doc                 `json:"plan"`
	// RoleTemplate is the run's --role, so that apply assumes the role
	// the plan was made through; "" when none was given.
	RoleTemplate string `json:"role_template,omitempty"`
	// Over several accounts (format "4"): each account's fingerprint (""
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

// CheckAccounts compares recomputed fingerprints and components, by
// account, with the saved ones; its error names what changed, account by
// account.
func (f File) CheckAccounts(byAccount map[string]string, components map[string]map[string]string) error {
	if f.Accounts == nil {
		return fmt.Errorf("%w: it is a plan of one account, and the manifests are now for several", ErrStale)
	}
	var changed []string
	for _, a := range slices.Sorted(maps.Keys(byAccount)) {
		saved, ok := f.AccountFingerprints[a]
		switch {
		case !ok:
			changed = append(changed, fmt.Sprintf("account %s is new", a))
		case saved != "" && Fingerprint(f.AccountComponents[a]) != saved:
			changed = append(changed, "account "+a+": "+editedComponents)
		case saved != byAccount[a]:
			changed = append(changed, prefixed("account "+a+": ", whatChanged(f.AccountComponents[a], components[a]))...)
		}
	}
	for _, a := range slices.Sorted(maps.Keys(f.AccountFingerprints)) {
		if _, ok := byAccount[a]; !ok {
			changed = append(changed, fmt.Sprintf("account %s is gone", a))
		}
	}
	if len(changed) == 0 && AccountsFingerprint(byAccount) != f.Fingerprint {
		changed = append(changed, "its fingerprint was edited")
	}
	if len(changed) > 0 {
		return stale(changed)
	}
	return nil
}

// Check compares a recomputed fingerprint with the saved one; its error
// names the components that changed. Components that do not give the
// saved fingerprint were edited: comparing them would list changes the
// editor invented, so the error says the file was edited instead.
func (f File) Check(fingerprint string, components map[string]string) error {
	switch {
	case Fingerprint(f.Components) != f.Fingerprint:
		return stale([]string{editedComponents})
	case fingerprint != f.Fingerprint:
		return stale(whatChanged(f.Components, components))
	}
	return nil
}

const editedComponents = "its components do not match its fingerprint (the file was edited)"

// whatChanged is Diff, or, when the components agree but the
// fingerprints do not, that the file was edited.
func whatChanged(saved, now map[string]string) []string {
	if d := Diff(saved, now); len(d) > 0 {
		return d
	}
	return []string{"its fingerprint does not match its components (the file was edited)"}
}

// CheckDoc compares the plan document regenerated at apply with the saved
// one, as canonical JSON: a saved document that is not the plan apply
// computed (a reviewer read one plan, apply would do another) is stale.
func CheckDoc(saved, now any) error {
	a, err := json.Marshal(saved)
	if err != nil {
		return err
	}
	b, err := json.Marshal(now)
	if err != nil {
		return err
	}
	if !bytes.Equal(a, b) {
		return stale([]string{"the plan document it holds is not the plan its manifests give now (the file was edited, or the plan depends on this machine)"})
	}
	return nil
}

// StaleError is ErrStale with what changed.
type StaleError struct {
	// Changes name what changed, one phrase each. They hold names from
	// the manifests and the saved file: escape them to print.
	Changes []string
}

func (e *StaleError) Error() string {
	return ErrStale.Error() + ": " + strings.Join(e.Changes, "; ")
}

// Unwrap makes errors.Is(err, ErrStale) hold.
func (e *StaleError) Unwrap() error { return ErrStale }

func stale(changes []string) error { return &StaleError{Changes: changes} }

func prefixed(p string, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = p + s
	}
	return out
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

// MaxSize bounds a saved plan file. A plan creating 5,000 devices, each
// with two recipients and two tags, is 5.4 MB of 35,000 objects and
// arrays (measured); a plan over several accounts holds each account's,
// so the bound leaves room for about 60,000 such devices.
const MaxSize = 64 << 20

// MaxContainers bounds the JSON objects and arrays of a saved plan. An
// empty object, two bytes, decodes into a plan change of about 150, so a
// file of MaxSize bytes of "{}" would take gigabytes; a real change holds
// seven or more in about a kilobyte, so the bound is near MaxSize's.
const MaxContainers = 500_000

// Read loads a saved plan. It refuses anything but a regular file of at
// most MaxSize bytes, so that a FIFO or a device cannot hang apply, and
// counts its objects and arrays before decoding it, so that a small file
// cannot take gigabytes of memory. It refuses a manifest path that plan
// --out would not have written (not cleaned): apply compares the
// operator's -f with the saved paths cleaned.
func Read(path string) (File, error) {
	data, err := inputfile.Read(path, MaxSize)
	if err != nil {
		return File{}, fmt.Errorf("reading saved plan: %w", err)
	}
	if containers(data, MaxContainers) > MaxContainers {
		return File{}, fmt.Errorf("%s is not a saved plan: more than %d JSON objects and arrays", path, MaxContainers)
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return File{}, fmt.Errorf("%s is not a saved plan: %w", path, err)
	}
	if f.FormatVersion == "1" || f.FormatVersion == "2" {
		return File{}, fmt.Errorf("%s was %w (format %s), which named its manifests by absolute path and left its plan document outside the fingerprint", path, ErrOldFormat, f.FormatVersion)
	}
	accounts := f.FormatVersion == AccountsFormatVersion
	if (f.FormatVersion != FormatVersion && !accounts) || f.Fingerprint == "" || len(f.Manifests) == 0 ||
		accounts != (f.Accounts != nil) || accounts != (f.AccountComponents != nil) || !accounts && f.Components == nil {
		return File{}, fmt.Errorf("%s is not a saved plan of this mfabulk (format %q)", path, f.FormatVersion)
	}
	for _, m := range f.Manifests {
		if m == "" || filepath.ToSlash(filepath.Clean(filepath.FromSlash(m))) != m {
			return File{}, fmt.Errorf("%s: manifest %q is not a clean path, as plan --out writes it; the file was edited", path, m)
		}
	}
	return f, nil
}

// containers counts the objects and arrays of a JSON text, outside its
// strings, up to just past limit: a cheap scan, no decoding.
func containers(data []byte, limit int) int {
	n, inString, escaped := 0, false, false
	for _, c := range data {
		switch {
		case escaped:
			escaped = false
		case inString:
			switch c {
			case '\\':
				escaped = true
			case '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if n++; n > limit {
				return n
			}
		}
	}
	return n
}

func held(proof string) string {
	if proof == "" {
		return ""
	}
	return "held"
}

func sorted(ss []string) []string { return slices.Sorted(slices.Values(ss)) }
