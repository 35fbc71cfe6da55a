// Package plan computes what mfabulk must do to make an account match a
// manifest. [Compute] is pure: the desired devices, what was observed in
// the account and the user's options go in, a [Plan] value comes out.
// Showing a plan is the view package's job; carrying it out is apply's.
package plan

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/manifest"
)

// Action is what a plan does to one device.
type Action string

// The actions, in the order plans list them.
const (
	// Create makes a device the manifest lists and the account lacks.
	Create Action = "create"
	// Replace deletes an unassigned device and creates it again with a new
	// secret: asked for with --replace, or because an earlier run created
	// it and never wrote its outfile (seed lost), as its intent shows.
	Replace Action = "replace"
	// UpdateTags makes a device's tags the manifest's, when it manages tags.
	UpdateTags Action = "update-tags"
	// Reseal re-encrypts an outfile to the manifest's recipients: they
	// are no longer the ones its record says it is sealed to (an escrow
	// key rotated, a person's SSH key changed), or the record does not
	// say. The device and its secret stay; apply decrypts the outfile in
	// memory with an identity the operator gives (apply -i) and replaces
	// it and its record. Without one, it stays pending.
	Reseal Action = "reseal"
	// Delete removes a device inside the manifest's scope that it does not
	// list; planned only with --prune.
	Delete Action = "delete"
	// Assign enables an existing, unassigned device for the IAM user the
	// manifest names. EnableMFADevice needs two codes from the device's
	// seed, and the only copy of it is sealed to the recipients, so apply
	// issues a new secret (as Replace does: the old outfile is moved aside)
	// and enables the device with codes computed from it. Nobody can have
	// signed in with an unassigned device, so nothing is lost.
	Assign Action = "assign"
	// Settle records which device an outfile belongs to: an earlier run
	// created the device and wrote its outfile, then stopped before writing
	// the record beside it and removing its intent. The intent names the
	// create ID, and the device in the account carries it; apply writes
	// the record and removes the intent. Nothing in the account changes.
	Settle Action = "settle"
	// Conflict is a device the plan cannot reconcile: its name is taken at
	// another path or in another case (IAM cannot move or rename a device),
	// or it must be replaced but is assigned to a user. Apply refuses a plan
	// with conflicts.
	Conflict Action = "conflict"
	// Mismatch is a device whose secret this folder does not provably hold:
	// it exists without an outfile here, or its outfile belongs to an
	// earlier device of the same name (another run deleted and recreated
	// it). mfabulk cannot prove the device is its own, so it never deletes
	// it by itself: a person chooses (--replace NAME, or remove it from the
	// manifest). Apply leaves it alone and fails until then.
	Mismatch Action = "mismatch"
	// Refused is a device prune would delete but never will: a user has it.
	Refused Action = "refused"
	// Unchanged is a listed device that already exists as declared.
	Unchanged Action = "unchanged"
)

// Actions lists every action in plan order.
var Actions = []Action{Create, Replace, Assign, UpdateTags, Reseal, Delete, Settle, Conflict, Mismatch, Refused, Unchanged}

func (a Action) order() int {
	for i, x := range Actions {
		if x == a {
			return i
		}
	}
	return len(Actions)
}

// TagChange is one tag key's change; a nil Before is an added key, a nil
// After a removed one.
type TagChange struct {
	Key    string
	Before *string
	After  *string
}

// Change is the plan for one device.
type Change struct {
	Action Action
	Name   string // the device's name, as the manifest (or, for deletes, IAM) spells it
	Path   string
	// Desired is the manifest's device; nil for Delete and Refused.
	Desired *manifest.Device
	// Existing is the device found in the account under the same
	// case-insensitive name, if any.
	Existing *device.Observed
	Reason   string
	Tags     []TagChange // for UpdateTags, and a Reseal whose device's tags change too
	// Gains and Loses are, for a Reseal, the recipients who can decrypt
	// the outfile once it is re-sealed and cannot now, and those who can
	// now and no longer will (none known when its record did not say).
	Gains, Loses []journal.Recipient
	// OutfileSHA256 is, for a Reseal, the SHA-256 of the outfile its
	// proven record is bound to: apply re-seals only those bytes.
	OutfileSHA256 string
	// SecretMAC is, for a Reseal, the proven record's binding to the
	// secret sealed in the outfile (journal.SecretMAC; "" when the record
	// has none): apply re-seals a secret only when it is the one the
	// record was made for.
	SecretMAC string
	// SealedTo is, for a Settle, who the unrecorded outfile was sealed
	// to, as its intent says: the record written names them.
	SealedTo []journal.Recipient
	// SettlesReseal is set on a Settle whose intent is a re-seal's: apply
	// takes it over as a re-seal's, so that a run killed then leaves the
	// evidence it found (a re-seal's intent beside a device whose seed
	// was durable), never a create's (whose missing outfile is a lost
	// seed, and the device replaced).
	SettlesReseal bool
	// CreateID is the existing device's create-ID tag, when it was read:
	// a replace records it so that an interrupted replace can be resumed
	// on proof that the device is still that one. Proof is its proof, when
	// this folder holds it (a proven record or intent); a secret of the
	// folder's, never written into a plan document.
	CreateID string
	Proof    string
	// MoveAside is set on a create whose outfile is still there from a
	// deleted device of the same name that mfabulk made (its record says
	// so): apply moves it aside first instead of refusing.
	MoveAside bool
	// Intent is what the plan found of the device's intent in the journal.
	// Apply takes an intent over only while it is still this one: between
	// plan and apply another run may have left its own, naming a device
	// whose seed only it can tell is lost.
	Intent IntentSeen
	// Deactivate is the IAM user the existing device is enabled for, when
	// apply deactivates it before deleting it: a replace of an assigned
	// device (a lost phone) or the prune of an assigned device no manifest
	// lists (a leaver), both only with --allow-deactivate. From then until
	// a new device is enabled, the user cannot sign in with MFA.
	Deactivate string
}

// Consequence says what a change that deactivates a device costs its
// user, for every view to show beside it; "" for any other change.
func (c Change) Consequence() string {
	switch {
	case c.Deactivate == "":
		return ""
	case c.Action == Delete:
		return c.Deactivate + " loses this MFA device: deactivated, then deleted"
	case c.EnablesUser():
		return c.Deactivate + " cannot sign in with MFA until the new device is enabled (apply enables it at once)"
	}
	return c.Deactivate + " cannot sign in with MFA until the new device is enabled (the person enrolls it: mfabulk enroll)"
}

// IntentSeen is a device's intent as a plan found it: whether this plan's
// intent was in the journal, the create ID it named, and its version in
// the store (see store.Seen, which it converts to).
type IntentSeen struct {
	Present  bool
	CreateID string
	Version  string
}

// Observed is what plan knows of the world outside the manifest.
type Observed struct {
	Account   string
	Partition string // ARN partition: "aws", "aws-cn", "aws-us-gov"
	Devices   []device.Observed
	// Tags are the current tags of the listed devices that exist, by
	// device name; read only when the manifest manages tags.
	Tags map[string]map[string]string
	// Local is what the outfile folder holds for each manifest device, by
	// the manifest's name.
	Local map[string]Local
	// CreateIDs are the live create-ID tags (device.CreateIDTag) of the
	// devices whose tags were read, by IAM's name; "" when a device has
	// none. A device absent from the map was not read: its ownership is
	// unknown.
	CreateIDs map[string]string
	// TagsUnsupported is set when the endpoint does not speak
	// ListMFADeviceTags, so no ownership could be verified.
	TagsUnsupported bool
	// Busy names the manifest devices another live run is working on.
	Busy map[string]bool
	// Users are the account's IAM users by lower-case name, read only when
	// a manifest device names one; nil when not read.
	Users map[string]string
	// UserMFA counts, by lower-case user, every MFA device enabled for the
	// users the plan may enable a device for: virtual, hardware and FIDO
	// (ListMFADevices), all of which count to IAM's limit. For a user not
	// in it, the plan counts the virtual devices assigned to them.
	UserMFA map[string]int
	// Untrusted names the manifest devices whose intent file is not this
	// plan's (another account's, malformed, a link), with why: reported,
	// never acted on.
	Untrusted map[string]string
}

// Local is one device's evidence in its outfile folder.
type Local struct {
	Outfile bool // the outfile exists
	// OutfileID is the create ID of the device whose secret the outfile
	// holds, from the record beside it; "" when unknown (an outfile made
	// before records existed).
	OutfileID string
	// Pending is set when an earlier run of this account meant to create
	// (or replace) the device, did not settle it, and left no outfile of
	// its own (a replace's old outfile, not yet moved aside, is not).
	Pending bool
	// Unsettled is set when such an intent is there beside the outfile
	// its run wrote: the run stopped after writing it, before recording.
	Unsettled bool
	// IntentAction, IntentID and IntentReplaces are the intent's action
	// ("create" or "replace"), the create ID it sent, and the create ID of
	// the device it was replacing.
	IntentAction, IntentID, IntentReplaces string
	// IntentVersion is the store's version of the intent read (an S3
	// object's ETag; "" in a folder): apply takes over only that one.
	IntentVersion string
	// RecordProof, IntentProof and ReplacesProof are the proofs (see
	// journal.NewCreateID) of OutfileID, IntentID and IntentReplaces, set
	// only when they prove them (and, for the record, when it is bound to
	// the outfile's bytes). A create ID is public, its proof is known only
	// to the folder whose run made the device: mfabulk deletes a device
	// (assign, replace on its own account) only on evidence with a proof.
	RecordProof, IntentProof, ReplacesProof string
	// Recipients are who the outfile is sealed to, as its proven record
	// says; RecipientsKnown is set when it says (a record written before
	// recipients were recorded does not). IntentRecipients are those an
	// intent left beside an unrecorded outfile names.
	Recipients       []journal.Recipient
	RecipientsKnown  bool
	OutfileSHA256    string // the proven record's binding
	SecretMAC        string // the proven record's binding to its secret (journal.SecretMAC)
	IntentRecipients []journal.Recipient
	IntentSecretMAC  string // a re-seal's intent's binding to the secret, kept by its settling
	// ResealFound is set when a re-seal's intent is beside an outfile
	// that is neither the one its record is bound to nor the one the
	// re-seal named before it put it: the hex SHA-256 found ("none" when
	// it is no file the store vouches for). Nothing of it is recorded.
	ResealFound string
	// Unproven says why a record or intent that names the device proves
	// nothing ("" when none does): plan reports it and never deletes on it.
	Unproven string
}

// Options are the user's choices for one plan.
//
// It is the one options value of a plan's whole pipeline: refresh reads
// Targets, Compute all of it, a saved plan records the user's three (the
// manifest's two are recomputed from the manifest) and the fingerprint
// covers all five.
type Options struct {
	ManageTags bool     `json:"-"`       // the manifest declares tags: it owns every tag set
	Scopes     []string `json:"-"`       // scope.paths: where pruning may act
	Prune      bool     `json:"prune"`   // delete devices in scope that the manifest omits
	Targets    []string `json:"targets"` // limit the plan to these device names
	Replace    []string `json:"replace"` // recreate these devices with new secrets
	// AllowDeactivate lets a replace (--replace) or a prune (--prune)
	// deactivate a device enabled for a user before deleting it: a lost
	// phone, a leaver. A flag only, never from a config file or the
	// environment: it takes a person's MFA away.
	AllowDeactivate bool `json:"allow_deactivate,omitempty"`
}

// MaxUserDevices is IAM's limit of MFA devices per user.
const MaxUserDevices = 8

// EnablesUser reports whether carrying out c ends with its device enabled
// for the manifest's user: creates, replaces and assigns of a device whose
// manifest entry names one.
func (c Change) EnablesUser() bool {
	return c.Desired != nil && c.Desired.User != "" && (c.Action == Create || c.Action == Replace || c.Action == Assign)
}

// Plan is the set of changes for a manifest against one account.
type Plan struct {
	Account   string
	Partition string
	Changes   []Change
	// Unlisted are devices inside the scope that the manifest omits, when
	// prune was not asked for: a hint, not a change.
	Unlisted []device.Observed
	// Notices are what a person must know about devices the plan does not
	// change: another run working on them, or a journal file not trusted.
	Notices []Notice
}

// Notice is something about one device that is not a change.
type Notice struct {
	Device string
	// InProgress is set when another live run is working on the device:
	// the account may not match the manifest yet, so the plan is not
	// "no changes".
	InProgress bool
	// Local is set when apply will refuse the device for a reason on this
	// machine, found at plan time: its outfile folder is not writable, or
	// is unsafe (see atomicfile.CheckSecure).
	Local bool
	// Store is set for a warning about the device's store that apply
	// goes on with (versioning off, allowed by --allow-unversioned-store;
	// public access not blocked): the reader must see it as the store's,
	// not as an intent left by a crashed run.
	Store   bool
	Message string
}

// Compute diffs the desired devices against the observed ones by name,
// case-insensitively, as IAM compares names. It fails only when the
// options ask for something impossible.
func Compute(desired []manifest.Device, obs Observed, opts Options) (Plan, error) {
	if opts.Prune && len(opts.Scopes) == 0 {
		return Plan{}, fmt.Errorf("--prune needs scope.paths in the manifest: mfabulk deletes only inside a scope the manifest declares")
	}
	c := newComputation(desired, obs, opts)
	if err := c.checkNames(); err != nil {
		return Plan{}, err
	}
	p := Plan{Account: obs.Account, Partition: obs.Partition}
	for i := range desired {
		if d := &desired[i]; c.targeted(d.Name) {
			p.Changes = append(p.Changes, c.forDesired(d))
		}
	}
	p.Notices = c.notices(desired)
	for _, o := range c.unlistedInScope() {
		switch {
		case !c.targeted(o.Name):
		case !opts.Prune:
			p.Unlisted = append(p.Unlisted, o)
		case o.Assigned() && (!opts.AllowDeactivate || o.User == ""):
			p.Changes = append(p.Changes, Change{Action: Refused, Name: o.Name, Path: o.Path, Existing: ptr(o),
				Reason: "not in the manifest, but assigned to " + userOr(o.User) + ": " + deactivateHint(o, "loses this MFA device")})
		case o.Assigned():
			p.Changes = append(p.Changes, Change{Action: Delete, Name: o.Name, Path: o.Path, Existing: ptr(o), Deactivate: o.User,
				Reason: "in scope " + scopeOf(o.Path, opts.Scopes) + " but not in the manifest, and assigned to " + o.User + " (--allow-deactivate): deactivated, then deleted"})
		default:
			p.Changes = append(p.Changes, Change{Action: Delete, Name: o.Name, Path: o.Path, Existing: ptr(o),
				Reason: "in scope " + scopeOf(o.Path, opts.Scopes) + " but not in the manifest"})
		}
	}
	sort.SliceStable(p.Changes, func(i, j int) bool {
		a, b := p.Changes[i], p.Changes[j]
		if a.Action != b.Action {
			return a.Action.order() < b.Action.order()
		}
		return a.Name < b.Name
	})
	return p, nil
}

func ptr[T any](v T) *T { return &v }

// Count returns how many changes have action a.
func (p Plan) Count(a Action) int { return len(p.Filter(a)) }

// HasChanges reports whether apply has anything to do or refuse: any
// change but Unchanged and Refused (which apply will never act on), or a
// device another live run is still working on.
func (p Plan) HasChanges() bool {
	for _, c := range p.Changes {
		if c.Action != Unchanged && c.Action != Refused {
			return true
		}
	}
	for _, n := range p.Notices {
		if n.InProgress {
			return true
		}
	}
	return false
}

// Filter returns the changes with action a.
func (p Plan) Filter(a Action) []Change {
	var out []Change
	for _, c := range p.Changes {
		if c.Action == a {
			out = append(out, c)
		}
	}
	return out
}

func userOr(u string) string {
	if u == "" {
		return "a user"
	}
	return u
}

func scopeOf(path string, scopes []string) string {
	for _, s := range scopes {
		if strings.HasPrefix(path, s) {
			return s
		}
	}
	return ""
}

// ErrConflicts is wrapped by [Plan.Applyable]'s error.
var ErrConflicts = errors.New("device(s) in conflict")

// Applyable says whether apply may carry the plan out: not while any
// device is in conflict, since a person must decide first. Both the
// command (before asking for confirmation) and apply (before its first
// call) ask it, so the rule lives here.
func (p Plan) Applyable() error {
	if n := p.Count(Conflict); n > 0 {
		return fmt.Errorf("refusing to apply: %d %w", n, ErrConflicts)
	}
	return nil
}

// Pending counts the changes apply will act on: every change but those it
// never touches (unchanged, refused) and those it leaves for a person
// (mismatch).
func (p Plan) Pending() int {
	return len(p.Changes) - p.Count(Unchanged) - p.Count(Refused) - p.Count(Mismatch)
}

// Refusals are the reasons apply would refuse the plan, one per device in
// conflict; none when it is [Plan.Applyable].
func (p Plan) Refusals() []string {
	out := []string{}
	for _, c := range p.Filter(Conflict) {
		out = append(out, fmt.Sprintf("device %s%s conflicts: %s", c.Path, c.Name, c.Reason))
	}
	return out
}

// Reviewed reports whether a change issues a secret sealed to recipients
// (create, replace, assign): a reviewer must check who can decrypt it.
func (c Change) Reviewed() bool {
	return c.Desired != nil && (c.Action == Create || c.Action == Replace || c.Action == Assign)
}

// NeedsAllowDeactivate counts the conflicts that --allow-deactivate would
// turn into replaces: a device enabled for its own user (or for a user
// when the manifest names none) that must be replaced, at the manifest's
// name and path. A device another user has stays a conflict either way.
func (p Plan) NeedsAllowDeactivate() int {
	n := 0
	for _, c := range p.Filter(Conflict) {
		o, d := c.Existing, c.Desired
		if o != nil && d != nil && o.User != "" && o.Name == d.Name && o.Path == d.Path &&
			(d.User == "" || strings.EqualFold(d.User, o.User)) {
			n++
		}
	}
	return n
}
