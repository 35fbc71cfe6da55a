package planfile

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
)

// Inputs are everything one account's plan is computed from.
type Inputs struct {
	ToolVersion string
	Manifest    *manifest.Manifest
	Observed    plan.Observed
	Options     plan.Options
	// RoleTemplate is the run's --role ("" when none).
	RoleTemplate string
	// WorkDir is the folder the run works in: outfiles count relative to
	// it, so that a saved plan made in one checkout holds in another with
	// the same layout. "" keeps them absolute.
	WorkDir string
}

// Raw components hold their value itself rather than a digest, so that a
// stale plan can say what they were and what they are now.
const (
	compTool         = "tool version"
	compAccount      = "account"
	compRole         = "role"
	compRoleTemplate = "role template"
	compOptions      = "options"
	compTagsUnsup    = "tag support"
	compStore        = "store"
)

var raw = map[string]bool{compTool: true, compAccount: true, compRole: true, compRoleTemplate: true, compOptions: true, compTagsUnsup: true, compStore: true}

// Components breaks what a plan was computed from into named parts, each
// with its value (for the few short ones) or a SHA-256 digest: the tool
// version, each manifest file, each device's desired settings and
// recipients (which may come from recipients files the manifests' digests
// do not cover), the account, the role, every observed device, tags,
// create IDs, users and what the outfile folders hold, the options, and
// the stores (store:) the devices' files are kept in.
// The saved plan stores them so that a stale one can name what changed
// ([Diff]); [Fingerprint] hashes them all.
func Components(in Inputs) map[string]string {
	c := map[string]string{}
	m, obs, opts := in.Manifest, in.Observed, in.Options
	c[compTool] = in.ToolVersion
	c[compAccount] = strings.TrimSpace(obs.Account + " " + obs.Partition)
	if m.Role != nil {
		c[compRole] = fmt.Sprintf("%s %s %s %s", m.Role.ARN, m.Role.SessionName, m.Role.Duration, digest(m.Role.ExternalID))
	}
	if in.RoleTemplate != "" {
		c[compRoleTemplate] = in.RoleTemplate
	}
	c[compOptions] = fmt.Sprintf("manage-tags=%t prune=%t scopes=%v targets=%v replace=%v",
		opts.ManageTags, opts.Prune, sorted(opts.Scopes), sorted(opts.Targets), sorted(opts.Replace))
	if opts.AllowDeactivate { // takes a person's MFA away: part of what was reviewed
		c[compOptions] += " allow-deactivate=true"
	}
	c[compTagsUnsup] = fmt.Sprintf("unsupported=%t", obs.TagsUnsupported)
	for i, f := range m.Files {
		c["manifest "+filepath.ToSlash(f)] = m.Digests[i]
	}
	if s := stores(m); s != "" {
		c[compStore] = s
	}
	for _, d := range m.Devices {
		out := d.Outfile
		if in.WorkDir != "" && d.Store.IsFolder() {
			if rel, err := filepath.Rel(in.WorkDir, out); err == nil {
				out = filepath.ToSlash(rel)
			}
		}
		parts := []string{d.Name, d.Path, d.Bootstrap, out, d.User}
		for _, k := range slices.Sorted(maps.Keys(d.Tags)) {
			parts = append(parts, "tag", k, d.Tags[k])
		}
		if !d.Store.IsFolder() {
			parts = append(parts, "store", d.Store.URL, d.Store.KMSKeyID)
		}
		c["settings of device "+d.Name] = digest(parts...)
		c["recipients of device "+d.Name] = digest(d.Recipients...)
	}
	for _, d := range obs.Devices {
		c["IAM device "+d.Serial] = digest(d.User, d.EnableDate.UTC().Format(time.RFC3339))
	}
	for name, tags := range obs.Tags {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(tags)) {
			parts = append(parts, k, tags[k])
		}
		c["IAM tags of device "+name] = digest(parts...)
	}
	for name, l := range obs.Local {
		// Proofs are the folder's secrets: whether each is held counts,
		// not its value, which never leaves the folder.
		l.RecordProof, l.IntentProof, l.ReplacesProof = held(l.RecordProof), held(l.IntentProof), held(l.ReplacesProof)
		c["outfile, record or intent of device "+name] = digest(fmt.Sprintf("%+v", l))
	}
	for name, id := range obs.CreateIDs {
		c["create ID of device "+name] = digest(id)
	}
	if obs.Users != nil {
		c["IAM users"] = digest(slices.Sorted(maps.Values(obs.Users))...)
	}
	for u, n := range obs.UserMFA {
		c["MFA devices of user "+u] = digest(fmt.Sprint(n))
	}
	for name := range obs.Busy {
		c["run in progress on device "+name] = "busy"
	}
	return c
}

// stores names the stores the manifests' devices are kept in, each once,
// sorted: an S3 store by its URL and KMS key, the folder as "folder". It
// is "" when there is no S3 store, so that a plan of folders has the
// components, and the fingerprint, it had before stores: a saved plan
// stays good across the change, and no format bump is needed.
func stores(m *manifest.Manifest) string {
	set := map[string]bool{}
	s3 := false
	add := func(s manifest.Store) {
		if s.IsFolder() {
			set["folder"] = true
			return
		}
		s3 = true
		v := s.URL
		if s.KMSKeyID != "" {
			v += " (kmsKeyId " + s.KMSKeyID + ")"
		}
		set[v] = true
	}
	for _, s := range m.Stores {
		add(s)
	}
	for _, d := range m.Devices {
		add(d.Store)
	}
	if !s3 {
		return ""
	}
	return strings.Join(slices.Sorted(maps.Keys(set)), ", ")
}

// Fingerprint hashes a plan's components: any change in any of them
// changes it.
func Fingerprint(components map[string]string) string {
	h := sha256.New()
	fmt.Fprintf(h, "mfabulk savedplan %s\n", FormatVersion)
	for _, k := range slices.Sorted(maps.Keys(components)) {
		fmt.Fprintf(h, "%q %q\n", k, components[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Diff names what differs between a saved plan's components and the
// recomputed ones, one short phrase each, sorted: "manifest m.yaml
// changed", "account 111 → 222", "IAM device arn:… added". The phrases
// hold names from manifests and the saved file: escape them to print.
func Diff(saved, now map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(saved)) {
		v, ok := now[k]
		switch {
		case !ok && raw[k]:
			out = append(out, fmt.Sprintf("%s %s → (none)", k, orNone(saved[k])))
		case !ok:
			out = append(out, k+" removed")
		case v == saved[k]:
		case raw[k]:
			out = append(out, fmt.Sprintf("%s %s → %s", k, orNone(saved[k]), orNone(v)))
		default:
			out = append(out, k+" changed")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(now)) {
		if _, ok := saved[k]; !ok {
			if raw[k] {
				out = append(out, fmt.Sprintf("%s (none) → %s", k, orNone(now[k])))
				continue
			}
			out = append(out, k+" added")
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%q\n", p)
	}
	return hex.EncodeToString(h.Sum(nil))
}
