package refresh

import (
	"testing"

	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/store"
)

// A replace stopped after its intent and before its old outfile was
// moved aside (S3: copied to the aside key, not yet deleted) leaves the
// old outfile, its record, and the replace's intent. The outfile is the
// replaced device's, not the replace's: the intent is pending, for plan
// to finish the replace, not an outfile to record. Taken for an unsettled
// one, plan called the device unchanged and the intent stayed forever
// (TestStoreReplaceKilledAtEachStep/aside:copied: "d000 still has its old
// secret", "intents left in the store after convergence").
func TestLocalReplaceStoppedBeforeMoveAside(t *testing.T) {
	old, oldProof := journal.NewCreateID()
	next, nextProof := journal.NewCreateID()
	d := manifest.Device{Name: "d000", Path: "/faults/"}
	obs := &plan.Observed{Account: "123456789012", Busy: map[string]bool{}, Untrusted: map[string]string{}}
	record := &journal.Record{Account: obs.Account, Device: d.Name, Path: d.Path, CreateID: old, Proof: oldProof}
	intent := func(action, replaces, replacesProof string) journal.Status {
		return journal.Status{State: journal.Pending, Intent: &journal.Intent{
			Device: d.Name, Path: d.Path, Account: obs.Account, Action: action,
			CreateID: next, Proof: nextProof, Replaces: replaces, ReplacesProof: replacesProof,
		}}
	}
	for _, c := range []struct {
		name               string
		ev                 store.Evidence
		pending, unsettled bool
	}{
		{"replace, old outfile not yet moved aside", store.Evidence{Outfile: true, Record: record, Proven: true, Intent: intent("replace", old, oldProof)}, true, false},
		{"replace, old outfile moved aside", store.Evidence{Intent: intent("replace", old, oldProof)}, true, false},
		{"replace, new outfile written, not recorded", store.Evidence{Outfile: true, Intent: intent("replace", old, oldProof)}, false, true},
		{"create, outfile written, not recorded", store.Evidence{Outfile: true, Intent: intent("create", "", "")}, false, true},
	} {
		l := local(obs, d, c.ev)
		if l.Pending != c.pending || l.Unsettled != c.unsettled {
			t.Errorf("%s: Pending %v, Unsettled %v; want %v, %v", c.name, l.Pending, l.Unsettled, c.pending, c.unsettled)
		}
	}
}
