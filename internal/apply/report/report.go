// Package report is apply's audit record (apply --report FILE, or
// apply --output json): for each change, the device, its serial number,
// the action, the outcome, the outfile with the SHA-256 of its ciphertext,
// and the fingerprints of the recipients it was sealed to. Never a secret.
package report

import (
	"encoding/json"
	"time"

	"github.com/mfabulk/mfabulk/internal/apply"
	"github.com/mfabulk/mfabulk/internal/atomicfile"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/plan/jsonplan"
)

// FormatVersion is the version of the record's shape.
const FormatVersion = "1"

// Doc is one apply's record.
type Doc struct {
	FormatVersion string    `json:"format_version"`
	ToolVersion   string    `json:"tool_version"`
	Account       string    `json:"account"`
	Started       time.Time `json:"started"`
	Finished      time.Time `json:"finished"`
	Changes       []Entry   `json:"changes"`
}

// Entry is one change's outcome. Outcome is "ok", "failed",
// "rolled-back", "seed-lost" or "not-attempted".
type Entry struct {
	Device           string   `json:"device"`
	Serial           string   `json:"serial,omitempty"`
	Action           string   `json:"action"`
	Outcome          string   `json:"outcome"`
	Outfile          string   `json:"outfile,omitempty"`
	CiphertextSHA256 string   `json:"ciphertext_sha256,omitempty"`
	OldOutfile       string   `json:"old_outfile,omitempty"`
	Recipients       []string `json:"recipients,omitempty"` // fingerprints
	// Deactivated is the user the old device was deactivated for (a lost
	// phone replaced, a leaver's device pruned), once it was.
	Deactivated string `json:"deactivated,omitempty"`
	// User is the IAM user the device was to be enabled for; Enabled is
	// when that succeeded (absent when it did not).
	User      string     `json:"user,omitempty"`
	Enabled   *time.Time `json:"enabled,omitempty"`
	Error     string     `json:"error,omitempty"`
	ErrorCode string     `json:"error_code,omitempty"`
}

// Build records a result. It only maps the plan and the result, reading
// no file: the hash and the recipients' fingerprints are the ones apply
// had when it wrote each outfile. Paths inside the working folder wd are
// shown relative to it, others as they are.
func Build(p plan.Plan, r apply.Result, toolVersion string, started, finished time.Time, wd string) Doc {
	d := Doc{FormatVersion: FormatVersion, ToolVersion: toolVersion, Account: p.Account, Started: started.UTC(), Finished: finished.UTC(), Changes: []Entry{}}
	for _, o := range r.Outcomes {
		e := Entry{Device: o.Device, Serial: o.Serial, Action: string(o.Action), Outcome: outcome(o), ErrorCode: o.Code}
		if o.Err != nil {
			e.Error = o.Err.Error()
		}
		if o.Outfile != "" {
			e.Outfile = jsonplan.Rel(wd, o.Outfile)
			if o.Err == nil {
				e.CiphertextSHA256 = o.CiphertextSHA256
				e.Recipients = o.Recipients
			}
		}
		if o.OldOutfile != "" {
			e.OldOutfile = jsonplan.Rel(wd, o.OldOutfile)
		}
		e.User, e.Deactivated = o.User, o.Deactivated
		if !o.Enabled.IsZero() {
			t := o.Enabled.UTC()
			e.Enabled = &t
		}
		d.Changes = append(d.Changes, e)
	}
	return d
}

func outcome(o apply.Outcome) string {
	switch {
	case o.Err == nil:
		return "ok"
	case o.NotAttempted:
		return "not-attempted"
	case o.RolledBack:
		return "rolled-back"
	case o.SeedLost:
		return "seed-lost"
	}
	return "failed"
}

// Write saves d to path, replacing it atomically, but only when path is
// new or holds an earlier report: a report never takes the place of
// another file (the manifest, a device node, a link).
func Write(path string, d Doc) error {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.ReplaceOwn(path, append(b, '\n'), IsReport)
}

// Check tells, before apply changes anything, whether a report can be
// written to path.
func Check(path string) error {
	return atomicfile.CheckReplaceable(path, IsReport)
}

// IsReport recognises an apply report by its shape.
func IsReport(data []byte) bool {
	var d struct {
		FormatVersion *string          `json:"format_version"`
		ToolVersion   *string          `json:"tool_version"`
		Started       *string          `json:"started"`
		Changes       *json.RawMessage `json:"changes"`
	}
	return json.Unmarshal(data, &d) == nil && d.FormatVersion != nil && d.ToolVersion != nil && d.Started != nil && d.Changes != nil
}
