// Package jsonplan is mfabulk's machine-readable plan: the document that
// `plan --output json` prints and that saved plans embed. It is a contract:
// fields are only ever added, and a change that would break a reader bumps
// [FormatVersion].
//
// Changes are sorted by action (create, replace, update-tags, delete,
// conflict, refused) then device name; unchanged devices are counted in the
// summary, not listed. Outfile paths are relative to the working folder
// when inside it. A plan never holds a secret.
package jsonplan

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/seal"
)

// FormatVersion is the version of the document's shape.
const FormatVersion = "1"

// Doc is a plan as JSON.
type Doc struct {
	FormatVersion string `json:"format_version"`
	ToolVersion   string `json:"tool_version"`
	Account       string `json:"account"`
	HasChanges    bool   `json:"has_changes"`
	// Applyable is false when apply would refuse the plan (a device in
	// conflict); Refusals then says why, one line per device.
	Applyable bool           `json:"applyable"`
	Refusals  []string       `json:"refusals"`
	Summary   map[string]int `json:"summary"` // every action, zeros included
	Changes   []Change       `json:"changes"`
	Unlisted  []Device       `json:"unlisted_in_scope"` // devices in scope the manifest omits (without --prune)
	// Notices: devices another live run is working on (in_progress), and
	// intent files the plan did not trust. Omitted when there are none.
	Notices []Notice `json:"notices,omitempty"`
}

// Notice is something about a device that is not a change.
type Notice struct {
	Device     string `json:"device"`
	InProgress bool   `json:"in_progress"`
	Local      bool   `json:"local,omitempty"` // apply will refuse it for a reason on this machine (its outfile folder)
	Store      bool   `json:"store,omitempty"` // a warning about its S3 store that apply goes on with
	Message    string `json:"message"`
}

// Change is one device's change.
type Change struct {
	Action    string `json:"action"`
	Device    string `json:"device"`
	Path      string `json:"path"`
	Serial    string `json:"serial,omitempty"` // of the existing device
	Bootstrap string `json:"bootstrap,omitempty"`
	Outfile   string `json:"outfile,omitempty"`
	// Store is the S3 store the outfile is written to (s3://BUCKET/PREFIX/),
	// and KMSKeyID its SSE-KMS key; both absent for the folder beside the
	// manifest. Where a secret goes is as much to review as who can read it.
	Store    string `json:"store,omitempty"`
	KMSKeyID string `json:"kms_key_id,omitempty"`
	Reason   string `json:"reason,omitempty"`
	User     string `json:"user,omitempty"`      // the existing device's user, if assigned
	AssignTo string `json:"assign_to,omitempty"` // the user apply enables the device for (create, replace, assign)
	// Deactivate is the user apply deactivates the existing device for
	// before deleting it (a replace or a prune with --allow-deactivate),
	// and Consequence what that costs them, in words.
	Deactivate  string      `json:"deactivate,omitempty"`
	Consequence string      `json:"consequence,omitempty"`
	Tags        []TagChange `json:"tags,omitempty"` // for update-tags; for create, replace and assign the new device's tags (before null)
	// Recipients are who can decrypt the new secret of a create, replace
	// or assign: every key in full, with its fingerprint.
	Recipients []Recipient `json:"recipients,omitempty"`
	// Gains and Loses are, for a reseal, who can decrypt the outfile once
	// it is re-sealed and cannot now, and who can now and will not.
	Gains []journal.Recipient `json:"gains,omitempty"`
	Loses []journal.Recipient `json:"loses,omitempty"`
}

// Recipient is one key a new secret is sealed to.
type Recipient struct {
	Key         string `json:"key"`                   // as the manifest resolves it: "age1…" or an authorized_keys line
	Fingerprint string `json:"fingerprint,omitempty"` // SHA256:…, as in apply's report; empty if the key does not parse
	Comment     string `json:"comment,omitempty"`     // an SSH key's comment
	// Kind is what sort of key it is: "age X25519", "age post-quantum",
	// "age tag", "age tag post-quantum" (keys meant for hardware, which
	// nothing in them proves), "SSH
	// ed25519" or "SSH RSA"; empty if the key does not parse.
	Kind string `json:"kind,omitempty"`
}

// DescribeRecipient fingerprints a recipient, names its kind and reads an
// SSH key's comment, for reviewers.
func DescribeRecipient(key string) Recipient {
	r := Recipient{Key: key}
	if k, fp, err := seal.Describe(key); err == nil {
		r.Fingerprint, r.Kind = fp, k.String()
	}
	if strings.HasPrefix(key, "ssh-") {
		if _, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(key)); err == nil {
			r.Comment = comment
		}
	}
	return r
}

// TagChange is one tag key's before and after; null is absent.
type TagChange struct {
	Key    string  `json:"key"`
	Before *string `json:"before"`
	After  *string `json:"after"`
}

// Device is an existing device.
type Device struct {
	Device string `json:"device"`
	Path   string `json:"path"`
	Serial string `json:"serial"`
}

// From builds the document. Outfile paths inside wd, the working folder,
// are written relative to it.
func From(p plan.Plan, toolVersion, wd string) Doc {
	d := Doc{
		FormatVersion: FormatVersion, ToolVersion: toolVersion, Account: p.Account,
		HasChanges: p.HasChanges(), Summary: map[string]int{}, Changes: []Change{}, Unlisted: []Device{},
		Applyable: p.Applyable() == nil, Refusals: p.Refusals(),
	}
	described := map[string]Recipient{}
	for _, a := range plan.Actions {
		d.Summary[string(a)] = p.Count(a)
	}
	for _, c := range p.Changes {
		if c.Action == plan.Unchanged {
			continue
		}
		jc := Change{Action: string(c.Action), Device: c.Name, Path: c.Path, Reason: c.Reason}
		if c.Desired != nil && (c.Action == plan.Create || c.Action == plan.Replace || c.Action == plan.Assign) {
			jc.Bootstrap, jc.Outfile = c.Desired.Bootstrap, Rel(wd, c.Desired.Outfile)
			jc.Store, jc.KMSKeyID = c.Desired.Store.URL, c.Desired.Store.KMSKeyID
		}
		if c.EnablesUser() {
			jc.AssignTo = c.Desired.User
		}
		if c.Action == plan.Reseal {
			jc.Outfile, jc.Gains, jc.Loses = Rel(wd, c.Desired.Outfile), c.Gains, c.Loses
			jc.Store, jc.KMSKeyID = c.Desired.Store.URL, c.Desired.Store.KMSKeyID
		}
		if c.Existing != nil {
			jc.Serial, jc.User = c.Existing.Serial, c.Existing.User
		}
		jc.Deactivate, jc.Consequence = c.Deactivate, c.Consequence()
		for _, t := range c.Tags {
			jc.Tags = append(jc.Tags, TagChange{Key: t.Key, Before: t.Before, After: t.After})
		}
		if c.Reviewed() {
			for _, k := range slices.Sorted(maps.Keys(c.Desired.Tags)) {
				jc.Tags = append(jc.Tags, TagChange{Key: k, After: &[]string{c.Desired.Tags[k]}[0]})
			}
			for _, key := range c.Desired.Recipients {
				r, ok := described[key]
				if !ok {
					r = DescribeRecipient(key)
					described[key] = r
				}
				jc.Recipients = append(jc.Recipients, r)
			}
		}
		d.Changes = append(d.Changes, jc)
	}
	for _, o := range p.Unlisted {
		d.Unlisted = append(d.Unlisted, Device{Device: o.Name, Path: o.Path, Serial: o.Serial})
	}
	for _, n := range p.Notices {
		d.Notices = append(d.Notices, Notice{Device: n.Device, InProgress: n.InProgress, Local: n.Local, Store: n.Store, Message: n.Message})
	}
	return d
}

// Rel is path relative to the folder wd when it lies inside it, else path
// unchanged: the one rule for paths in mfabulk's JSON documents and views,
// so a plan or report names outfiles as a person in that folder would.
func Rel(wd, path string) string {
	if wd == "" {
		return path
	}
	r, err := filepath.Rel(wd, path)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return path
	}
	return r
}

// AccountsFormatVersion is the version of the document of a plan over
// several accounts ([Accounts]). A plan of one account is a [Doc], as
// before, with FormatVersion.
const AccountsFormatVersion = "2"

// Accounts is a plan over several accounts: totals, then each account's
// plan as a [Doc] (or the error that stopped it).
type Accounts struct {
	FormatVersion string         `json:"format_version"` // "2"
	ToolVersion   string         `json:"tool_version"`
	HasChanges    bool           `json:"has_changes"` // any account has changes
	Applyable     bool           `json:"applyable"`   // every planned account is applyable
	Failed        int            `json:"failed"`      // accounts that failed before their plan
	Summary       map[string]int `json:"summary"`     // every action, summed over accounts
	Accounts      []Account      `json:"accounts"`
}

// Account is one account's part of an [Accounts] document.
type Account struct {
	Account string `json:"account"`
	Role    string `json:"role,omitempty"` // the role assumed to reach it
	// Status is "changes", "no changes", "refused" (conflicts),
	// "failed" or "not targeted".
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	Plan   *Doc   `json:"plan,omitempty"` // absent when failed or not targeted
}
