package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/seal"
)

// computation holds one Compute's indexes.
type computation struct {
	obs      Observed
	opts     Options
	desired  map[string]bool            // lower-case names the manifest lists
	observed map[string]device.Observed // by lower-case name
	targets  map[string]bool            // lower-case; empty means all
	replace  map[string]bool            // lower-case
	// userDevices counts, by lower-case user, the MFA devices the account
	// has enabled for them (of every kind when read, Observed.UserMFA;
	// else the virtual ones assigned to them) and those the plan enables
	// so far.
	userDevices map[string]int
	// sealedTo caches the manifest's recipient lists, parsed, by their
	// text: devices share a few lists.
	sealedTo map[string][]journal.Recipient
}

func newComputation(desired []manifest.Device, obs Observed, opts Options) *computation {
	c := &computation{obs: obs, opts: opts, desired: map[string]bool{}, observed: map[string]device.Observed{},
		targets: lowerSet(opts.Targets), replace: lowerSet(opts.Replace), sealedTo: map[string][]journal.Recipient{}}
	for _, d := range desired {
		c.desired[strings.ToLower(d.Name)] = true
	}
	c.userDevices = map[string]int{}
	for _, o := range obs.Devices {
		c.observed[strings.ToLower(o.Name)] = o
		if o.User != "" {
			c.userDevices[strings.ToLower(o.User)]++
		}
	}
	for u, n := range obs.UserMFA { // the virtual ones among them too
		c.userDevices[u] = n
	}
	return c
}

func lowerSet(names []string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[strings.ToLower(n)] = true
	}
	return m
}

// checkNames refuses --target and --replace names that name nothing, and
// a --target that names a device no manifest lists outside the scope: no
// plan could act on it, and "No changes" would not say why.
func (c *computation) checkNames() error {
	for _, n := range c.opts.Replace {
		if !c.desired[strings.ToLower(n)] {
			return fmt.Errorf("--replace %s: no such device in the manifest", n)
		}
	}
	for _, n := range c.opts.Targets {
		l := strings.ToLower(n)
		o, inAccount := c.observed[l]
		switch {
		case c.desired[l]:
		case !inAccount:
			return fmt.Errorf("--target %s: no such device in the manifest, nor in account %s", n, c.obs.Account)
		case len(c.opts.Scopes) == 0:
			return fmt.Errorf("--target %s: %s%s is in account %s but not in the manifest, which declares no scope.paths: mfabulk acts only on the devices a manifest lists and, with --prune, on those inside its scope", n, o.Path, o.Name, c.obs.Account)
		case scopeOf(o.Path, c.opts.Scopes) == "":
			return fmt.Errorf("--target %s: %s%s is not in the manifest and lies outside its scope.paths (%s): mfabulk prunes only inside the scope", n, o.Path, o.Name, strings.Join(c.opts.Scopes, ", "))
		}
	}
	return nil
}

func (c *computation) targeted(name string) bool {
	return len(c.targets) == 0 || c.targets[strings.ToLower(name)]
}

// forDesired plans one device of the manifest.
func (c *computation) forDesired(d *manifest.Device) Change {
	ch := Change{Action: Create, Name: d.Name, Path: d.Path, Desired: d}
	if l := c.obs.Local[d.Name]; l.Pending || l.Unsettled || l.IntentAction == string(Reseal) {
		ch.Intent = IntentSeen{Present: true, CreateID: l.IntentID, Version: l.IntentVersion}
	}
	o, ok := c.observed[strings.ToLower(d.Name)]
	if !ok {
		if l := c.obs.Local[d.Name]; l.Outfile && l.OutfileID != "" {
			ch.MoveAside = true
			ch.Reason = "the outfile of a deleted device of this name is moved aside"
		}
		return c.assignment(ch)
	}
	ch.Existing = &o
	ch.CreateID = c.obs.CreateIDs[o.Name]
	ch.Proof = c.proof(*d, ch.CreateID)
	switch {
	case o.Name != d.Name && o.Path != d.Path:
		ch.Action, ch.Reason = Conflict, "the account has "+o.Path+o.Name+": same IAM name in another case, at another path; IAM cannot rename or move a device"
	case o.Name != d.Name:
		ch.Action, ch.Reason = Conflict, "the account has "+o.Name+": same IAM name in another case; IAM cannot rename a device"
	case o.Path != d.Path:
		ch.Action, ch.Reason = Conflict, "it exists at path "+o.Path+"; IAM cannot move a device"
	case c.replace[strings.ToLower(d.Name)]:
		ch.Action, ch.Reason = c.replaceOr(o, "replacement requested with --replace")
	case c.obs.Local[d.Name].Unsettled && c.obs.Local[d.Name].IntentAction == string(Reseal):
		ch.Action, ch.Reason = c.ownership(d, o)
		if ch.Action == Settle {
			ch.Reason = "an earlier re-seal was stopped after replacing its outfile and before recording it; the record is written"
		}
	default:
		ch.Action, ch.Reason = c.ownership(d, o)
		if ch.Action == Unchanged && c.opts.ManageTags {
			if ch.Tags = diffTags(c.obs.Tags[o.Name], d.Tags); len(ch.Tags) > 0 {
				ch.Action = UpdateTags
			}
		}
	}
	if ch.Action == Replace && o.Assigned() {
		ch.Deactivate = o.User
	}
	if ch.Action == Settle {
		ch.SealedTo = c.obs.Local[d.Name].IntentRecipients
		ch.SettlesReseal = c.obs.Local[d.Name].IntentAction == string(Reseal)
		ch.SecretMAC = c.obs.Local[d.Name].IntentSecretMAC
	}
	return c.reseal(c.assignment(ch))
}

// reseal plans re-sealing a device's outfile when the manifest's
// recipients are not the ones its record says it is sealed to. Only an
// outfile whose record proves it is the live device's (this folder made
// it, and it is bound to the outfile's bytes) and that no run is on: its
// record is what says who can read it, and a re-seal replaces it. A
// change that issues a new secret (assign, replace) seals it to the
// manifest's recipients anyway.
func (c *computation) reseal(ch Change) Change {
	d, o := ch.Desired, ch.Existing
	if d == nil || o == nil || (ch.Action != Unchanged && ch.Action != UpdateTags) || c.obs.Busy[d.Name] {
		return ch
	}
	l := c.obs.Local[d.Name]
	if !l.Outfile || l.Pending || l.Unsettled || !c.provenOurs(*d, *o, Unchanged) {
		return ch
	}
	want, ok := c.recipientsOf(d.Recipients)
	if !ok {
		return ch // the manifest's validation reports them
	}
	ch.OutfileSHA256, ch.SecretMAC = l.OutfileSHA256, l.SecretMAC
	if !l.RecipientsKnown {
		ch.Action, ch.Gains = Reseal, want
		ch.Reason = "its recipients were not recorded (an older mfabulk sealed it): who loses access is unknown; it is re-sealed to the manifest's"
		return ch
	}
	ch.Gains, ch.Loses = diffRecipients(l.Recipients, want), diffRecipients(want, l.Recipients)
	if len(ch.Gains) > 0 || len(ch.Loses) > 0 {
		ch.Action = Reseal
		ch.Reason = "its recipients are not the manifest's"
		return ch
	}
	ch.OutfileSHA256, ch.SecretMAC = "", ""
	if l.IntentAction == string(Reseal) {
		// An earlier re-seal stopped before it replaced the outfile, and
		// the recipients are the recorded ones again: its intent is
		// settled, the record written again as it is.
		ch.Action, ch.Tags, ch.SealedTo, ch.SettlesReseal = Settle, nil, l.Recipients, true
		ch.SecretMAC = l.SecretMAC
		ch.Reason = "an earlier re-seal was stopped before it replaced the outfile, which is still sealed to the manifest's recipients; its intent is cleared"
	}
	return ch
}

// recipientsOf fingerprints and labels a recipient list; false when one
// does not parse.
func (c *computation) recipientsOf(keys []string) ([]journal.Recipient, bool) {
	k := strings.Join(keys, "\n")
	if rs, ok := c.sealedTo[k]; ok {
		return rs, rs != nil
	}
	var out []journal.Recipient
	if rs, err := seal.ParseRecipients(keys); err == nil {
		out = Recipients(rs)
	}
	c.sealedTo[k] = out
	return out, out != nil
}

// Recipients are parsed recipients as a record names them.
func Recipients(rs seal.Recipients) []journal.Recipient {
	out := make([]journal.Recipient, len(rs.Fingerprints))
	for i, fp := range rs.Fingerprints {
		out[i] = journal.Recipient{Fingerprint: fp}
		if i < len(rs.Labels) {
			out[i].Label = rs.Labels[i]
		}
	}
	return out
}

// diffRecipients returns those of b whose fingerprint a lacks.
func diffRecipients(a, b []journal.Recipient) []journal.Recipient {
	have := map[string]bool{}
	for _, r := range a {
		have[r.Fingerprint] = true
	}
	var out []journal.Recipient
	for _, r := range b {
		if !have[r.Fingerprint] {
			out = append(out, r)
		}
	}
	return out
}

// assignment checks a change against the user its manifest entry names:
// an existing device assigned to someone else, a user the account lacks,
// or a user at IAM's device limit is a conflict found here, before any
// create; an existing unassigned device this folder holds is assigned.
// A device whose entry names no user is never deactivated or touched.
func (c *computation) assignment(ch Change) Change {
	d := ch.Desired
	if d == nil || d.User == "" || ch.Action == Conflict || c.obs.Busy[d.Name] {
		return ch // another live run is on a busy device: a notice says so
	}
	if o := ch.Existing; o != nil && o.User != "" {
		if !strings.EqualFold(o.User, d.User) {
			ch.Action, ch.Reason, ch.Deactivate = Conflict, "it is assigned to "+o.User+", but the manifest names user "+d.User+"; mfabulk never moves a device from one user to another: a person deactivates it (aws iam deactivate-mfa-device)", ""
		}
		return ch
	}
	if ch.Action == Mismatch {
		return ch
	}
	if c.obs.Users != nil {
		if _, ok := c.obs.Users[strings.ToLower(d.User)]; !ok {
			ch.Action, ch.Reason = Conflict, "user "+d.User+" does not exist in account "+c.obs.Account
			return ch
		}
	}
	if ch.Existing != nil && (ch.Action == Unchanged || ch.Action == UpdateTags || ch.Action == Settle) {
		// Assigning re-issues the secret, so it deletes the device: only
		// on proof that this folder made it (its create ID is the one the
		// outfile's record, or the settled intent, names).
		if !c.provenOurs(*d, *ch.Existing, ch.Action) {
			ch.Action, ch.Tags = Mismatch, nil
			ch.Reason = "unassigned, but whether this folder made it cannot be proven" + c.unverifiable() + ", and enabling it needs a new secret; run apply --replace " + d.Name + " to issue one here and enable it"
			return ch
		}
		ch.Action, ch.Tags = Assign, nil
		ch.Reason = "unassigned; a new secret is issued to enable it (the current one is sealed to its recipients)"
	}
	if ch.EnablesUser() {
		u := strings.ToLower(d.User)
		if c.userDevices[u] >= MaxUserDevices {
			ch.Action, ch.Reason = Conflict, fmt.Sprintf("user %s has %d MFA devices already, IAM's limit", d.User, MaxUserDevices)
			return ch
		}
		c.userDevices[u]++
	}
	return ch
}

// ownership decides, for a device that exists as declared, whether this
// folder holds its secret. The proof is the create ID: the one the device
// is tagged with must be the one the outfile's record (or a pending
// intent) names. Without proof mfabulk never replaces a device by itself.
func (c *computation) ownership(d *manifest.Device, o device.Observed) (Action, string) {
	l := c.obs.Local[d.Name]
	live, known := c.obs.CreateIDs[o.Name]
	switch {
	case c.obs.Busy[d.Name]:
		return Unchanged, "" // another live run is on it: a notice says so
	case l.Unsettled && l.ResealFound != "":
		return Mismatch, "an earlier re-seal was stopped, and the file at its outfile's name is neither the outfile it re-sealed nor the one it wrote (SHA-256 " + short(l.ResealFound) + "): a person or another run put it there; put the right outfile back, or run apply --replace " + d.Name + " to issue a new secret here"
	case l.Unsettled && known && l.IntentProof != "" && live == l.IntentID:
		// The intent's run created this device, which it did only once no
		// outfile was at this name, and only a run holding the intent
		// writes one: the outfile is this device's.
		return Settle, "an earlier run was stopped after writing its outfile and before recording it; the record is written"
	case l.Pending && l.IntentAction == string(Reseal):
		// A re-seal's intent names the live device, whose seed was
		// durable before it began: no outfile now is no lost seed.
		return Mismatch, "an earlier re-seal was stopped, and its outfile is gone since (moved or deleted); put it back, or run apply --replace " + d.Name + " to issue a new secret here"
	case l.Pending && known && l.IntentProof != "" && live == l.IntentID:
		return c.replaceOr(o, "seed lost: an earlier run created it but never wrote its outfile")
	case l.Pending && known && l.IntentAction == string(Replace) && l.ReplacesProof != "" && live == l.IntentReplaces:
		return c.replaceOr(o, "an earlier replace was interrupted; its old outfile is moved aside")
	case l.Pending && known && (live == l.IntentID || live == l.IntentReplaces):
		return Mismatch, "an intent names it, but " + unproven(l) + "; mfabulk never deletes a device on such evidence: check it, then run apply --replace " + d.Name
	case l.Pending && !known:
		return Mismatch, "an earlier run meant to create it and left no outfile, but whether this device is the one it made cannot be verified" + c.unverifiable() + "; check it, then run apply --replace " + d.Name
	case l.Pending:
		return Mismatch, "an earlier run meant to create it, but the device in the account is not the one it made (another run or person created it), and its outfile is not here; run apply --replace " + d.Name + " to issue a new secret here"
	case !l.Outfile:
		return Mismatch, "it exists in the account, but its outfile is not here (" + "another run or a person created it); run apply --replace " + d.Name + " to issue a new secret here, or remove it from the manifest"
	case l.OutfileID != "" && known && live != l.OutfileID:
		return Mismatch, "its outfile belongs to an earlier device of the same name (create ID " + short(l.OutfileID) + ", the device now has " + short(live) + "): another run deleted and recreated it; run apply --replace " + d.Name + " to issue a new secret here"
	}
	return Unchanged, ""
}

// unproven says why a device's evidence in the journal proves nothing.
func unproven(l Local) string {
	if l.Unproven != "" {
		return l.Unproven
	}
	return "it carries no proof that this folder's run made it"
}

func (c *computation) unverifiable() string {
	if c.obs.TagsUnsupported {
		return " (the endpoint does not support ListMFADeviceTags)"
	}
	return ""
}

func short(id string) string {
	if id == "" {
		return "none"
	}
	if len(id) > 8 {
		return id[:8] + "…"
	}
	return id
}

// notices reports the journal's findings on the targeted devices.
func (c *computation) notices(desired []manifest.Device) []Notice {
	var out []Notice
	for _, d := range desired {
		switch {
		case !c.targeted(d.Name):
		case c.obs.Busy[d.Name]:
			out = append(out, Notice{Device: d.Name, InProgress: true,
				Message: "another mfabulk run is working on it now; plan again when it has finished"})
		case c.obs.Untrusted[d.Name] != "":
			out = append(out, Notice{Device: d.Name,
				Message: "its intent file is not this plan's and is ignored (" + c.obs.Untrusted[d.Name] + "); remove it, or plan against the account it names"})
		case c.obs.Local[d.Name].Unproven != "":
			out = append(out, Notice{Device: d.Name,
				Message: c.obs.Local[d.Name].Unproven + ": it proves nothing about the device, and mfabulk will not replace or assign it on its strength (apply --replace " + d.Name + " issues a new secret, with a record that does)"})
		}
	}
	return out
}

// replaceOr replaces an unassigned device. An assigned one has a user,
// and only a person may take it away: with --allow-deactivate it is
// replaced too (deactivated first: forDesired sets Change.Deactivate),
// else it is a conflict whose reason names the flag.
func (c *computation) replaceOr(o device.Observed, reason string) (Action, string) {
	switch {
	case !o.Assigned():
		return Replace, reason
	case c.opts.AllowDeactivate && o.User != "":
		return Replace, reason + "; assigned to " + o.User + ", so it is deactivated first (--allow-deactivate)"
	}
	return Conflict, reason + ", but it is assigned to " + userOr(o.User) + ": " + deactivateHint(o, "cannot sign in with MFA until a new device is enabled")
}

// deactivateHint says what it takes to delete an assigned device: the
// person's explicit --allow-deactivate, and a user IAM names; cost is
// what deactivating it costs the user.
func deactivateHint(o device.Observed, cost string) string {
	if o.User == "" {
		return "mfabulk deletes an assigned device only once it is deactivated, and IAM does not say for which user; a person deactivates it (aws iam deactivate-mfa-device)"
	}
	return "mfabulk deletes an assigned device only with --allow-deactivate, which deactivates it first (" + o.User + " then " + cost + ")"
}

// unlistedInScope returns the observed devices inside the scope that no
// manifest lists.
func (c *computation) unlistedInScope() []device.Observed {
	var out []device.Observed
	for _, o := range c.obs.Devices {
		if scopeOf(o.Path, c.opts.Scopes) != "" && !c.desired[strings.ToLower(o.Name)] {
			out = append(out, o)
		}
	}
	return out
}

// diffTags lists the changes from before to after, by key.
func diffTags(before, after map[string]string) []TagChange {
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	var out []TagChange
	for k := range keys {
		b, inB := before[k]
		a, inA := after[k]
		if inB && inA && a == b {
			continue
		}
		tc := TagChange{Key: k}
		if inB {
			tc.Before = &b
		}
		if inA {
			tc.After = &a
		}
		out = append(out, tc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// provenOurs reports whether the device's live create ID is the one this
// folder recorded for its outfile (or, for a settle, the intent's).
func (c *computation) provenOurs(d manifest.Device, o device.Observed, a Action) bool {
	live, known := c.obs.CreateIDs[o.Name]
	if !known || live == "" {
		return false
	}
	l := c.obs.Local[d.Name]
	if a == Settle {
		return l.IntentProof != "" && live == l.IntentID
	}
	return l.RecordProof != "" && live == l.OutfileID
}

// proof returns the proof this folder holds of the device's live create
// ID, "" when it holds none: apply records it in the intent of a replace,
// so that an interrupted replace can be resumed on proof.
func (c *computation) proof(d manifest.Device, live string) string {
	l := c.obs.Local[d.Name]
	switch {
	case live == "":
		return ""
	case l.RecordProof != "" && live == l.OutfileID:
		return l.RecordProof
	case l.IntentProof != "" && live == l.IntentID:
		return l.IntentProof
	case l.ReplacesProof != "" && live == l.IntentReplaces:
		return l.ReplacesProof
	}
	return ""
}
