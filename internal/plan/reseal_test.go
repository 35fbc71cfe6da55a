package plan

import (
	"testing"
	"time"

	"filippo.io/age"

	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/seal"
)

// A proven record whose recipients are not the manifest's is re-sealed,
// with who gains and who loses access; one that names none (an older
// mfabulk's) too, its losses unknown. Nothing is re-sealed on evidence
// that proves nothing, on a device another run is on, or where a new
// secret is issued anyway.
func TestReseal(t *testing.T) {
	key := func() string {
		id, _ := age.GenerateX25519Identity()
		return id.Recipient().String()
	}
	oldKey, newKey, keep := key(), key(), key()
	sealed := func(keys ...string) []journal.Recipient {
		rs, err := seal.ParseRecipients(keys)
		if err != nil {
			t.Fatal(err)
		}
		return Recipients(rs)
	}
	id, proof := journal.NewCreateID()
	dev := func(name string) manifest.Device {
		return manifest.Device{Name: name, Path: "/", Recipients: []string{newKey, keep}}
	}
	proven := func(rs []journal.Recipient) Local {
		return Local{Outfile: true, OutfileID: id, RecordProof: proof, Recipients: rs, RecipientsKnown: len(rs) > 0, OutfileSHA256: "ab"}
	}
	desired := []manifest.Device{dev("rotated"), dev("same"), dev("legacy"), dev("unproven"), dev("busy")}
	obs := Observed{Account: "123", CreateIDs: map[string]string{}, Busy: map[string]bool{"busy": true}, Local: map[string]Local{
		"rotated":  proven(sealed(oldKey, keep)),
		"same":     proven(sealed(keep, newKey)),
		"legacy":   proven(nil),
		"unproven": {Outfile: true, OutfileID: id, Recipients: sealed(oldKey)},
		"busy":     proven(sealed(oldKey)),
	}}
	for _, d := range desired {
		obs.Devices = append(obs.Devices, device.Observed{Name: d.Name, Path: "/"})
		obs.CreateIDs[d.Name] = id
	}
	got := compute(t, desired, obs, Options{})
	c := got["rotated"]
	if c.Action != Reseal || len(c.Gains) != 1 || c.Gains[0].Fingerprint != sealed(newKey)[0].Fingerprint ||
		len(c.Loses) != 1 || c.Loses[0].Fingerprint != sealed(oldKey)[0].Fingerprint || c.OutfileSHA256 != "ab" {
		t.Errorf("escrow key swapped: %s gains %v loses %v; want reseal gaining the new key and losing the old", c.Action, c.Gains, c.Loses)
	}
	if c.Loses[0].Label != oldKey[:12]+"…"+oldKey[len(oldKey)-6:] {
		t.Errorf("an age key's label is %q, want its short form", c.Loses[0].Label)
	}
	if a := got["same"].Action; a != Unchanged {
		t.Errorf("the same recipients in another order: %s, want unchanged", a)
	}
	if c := got["legacy"]; c.Action != Reseal || len(c.Loses) != 0 || len(c.Gains) != 2 {
		t.Errorf("a record naming no recipients: %s %v %v, want reseal to the manifest's", c.Action, c.Gains, c.Loses)
	}
	for _, n := range []string{"unproven", "busy"} {
		if a := got[n].Action; a == Reseal {
			t.Errorf("%s: planned a reseal", n)
		}
	}
	// Assigning issues a new secret, sealed to the manifest's anyway.
	d := dev("rotated")
	d.User = "alice"
	obs.Users = map[string]string{"alice": "alice"}
	if a := compute(t, []manifest.Device{d}, obs, Options{})["rotated"].Action; a != Assign {
		t.Errorf("an unassigned device for a user: %s, want assign", a)
	}
}

// A re-seal's intent names the live device with its proof, but the device's
// seed was durable before it began: its outfile gone since (a person moved
// it, a principal deleted the object) is not a lost seed. The device is
// never replaced (deleted, or deactivated with --allow-deactivate) on it.
func TestResealIntentWithoutOutfileReplacesNothing(t *testing.T) {
	id, proof := journal.NewCreateID()
	desired := []manifest.Device{{Name: "free", Path: "/"}, {Name: "bob", Path: "/", User: "bob"}}
	obs := Observed{Account: "123", CreateIDs: map[string]string{"free": id, "bob": id}, Users: map[string]string{"bob": "bob"},
		Devices: []device.Observed{{Name: "free", Path: "/"}, {Name: "bob", Path: "/", User: "bob", EnableDate: time.Now()}}}
	obs.Local = map[string]Local{}
	for _, d := range desired {
		// What refresh makes of a re-seal intent beside no outfile.
		obs.Local[d.Name] = Local{Pending: true, IntentAction: string(Reseal), IntentID: id, IntentProof: proof}
	}
	for _, opts := range []Options{{}, {AllowDeactivate: true, Prune: true, Scopes: []string{"/"}}} {
		for n, c := range compute(t, desired, obs, opts) {
			if c.Action == Replace || c.Action == Delete || c.Deactivate != "" {
				t.Errorf("%s (allow-deactivate %v): %s, deactivate %q: %s", n, opts.AllowDeactivate, c.Action, c.Deactivate, c.Reason)
			}
		}
	}
}
