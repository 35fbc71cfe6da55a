package plan

import (
	"testing"

	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/manifest"
)

// An outfile beside an unsettled intent is the device's only when the
// device carries the intent's create ID; then apply records it. A stale
// record of the device it replaced does not make it a mismatch.
func TestSettleOnlyOnProof(t *testing.T) {
	desired := []manifest.Device{{Name: "a", Path: "/"}}
	observed := []device.Observed{{Name: "a", Path: "/"}}
	for _, tc := range []struct {
		name  string
		local Local
		live  map[string]string
		want  Action
	}{
		{"new outfile, stale record, device is the intent's", Local{Outfile: true, OutfileID: "old", Unsettled: true, IntentAction: "replace", IntentID: "new", IntentProof: "p", IntentReplaces: "old"}, map[string]string{"a": "new"}, Settle},
		{"new outfile, no record, device is the intent's", Local{Outfile: true, OutfileID: "new", Unsettled: true, IntentAction: "create", IntentID: "new", IntentProof: "p"}, map[string]string{"a": "new"}, Settle},
		{"intent without its proof", Local{Outfile: true, OutfileID: "new", Unsettled: true, IntentAction: "create", IntentID: "new", Unproven: "no proof"}, map[string]string{"a": "new"}, Unchanged},
		{"old outfile not yet moved aside, device still the old one", Local{Outfile: true, OutfileID: "old", Unsettled: true, IntentAction: "replace", IntentID: "new", IntentReplaces: "old"}, map[string]string{"a": "old"}, Unchanged},
		{"device is someone else's", Local{Outfile: true, OutfileID: "old", Unsettled: true, IntentID: "new"}, map[string]string{"a": "other"}, Mismatch},
		{"ownership unknown", Local{Outfile: true, OutfileID: "new", Unsettled: true, IntentID: "new"}, nil, Unchanged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := compute(t, desired, Observed{Account: "1", Devices: observed, Local: map[string]Local{"a": tc.local}, CreateIDs: tc.live}, Options{})["a"]
			if got.Action != tc.want {
				t.Errorf("got %s (%s), want %s", got.Action, got.Reason, tc.want)
			}
		})
	}
}
