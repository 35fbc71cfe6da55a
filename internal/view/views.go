package view

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/mfabulk/mfabulk/internal/apply"
	"github.com/mfabulk/mfabulk/internal/apply/report"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/plan/jsonplan"
)

// Formats are the output formats of plan; apply has text and json.
var Formats = []string{"text", "json", "markdown"}

// ErrUnknownFormat is wrapped by NewPlan's and NewApply's error.
var ErrUnknownFormat = errors.New("unknown output format")

// Streams are where a view writes, and what it knows of the terminal.
type Streams struct {
	Out, Err io.Writer
	// OutTTY is set when Out is a terminal: progress bars are drawn only
	// there.
	OutTTY bool
	Style  Style
	// ToolVersion goes into JSON documents.
	ToolVersion string
}

// Plan renders a computed plan.
type Plan interface {
	Plan(p plan.Plan) error
	// Plans renders a plan over several accounts.
	Plans(as []AccountPlan) error
}

// NewPlan returns the plan view for format: text, json or markdown.
func NewPlan(format string, s Streams) (Plan, error) {
	switch format {
	case "text", "":
		return planText{s}, nil
	case "json":
		return planJSON{s}, nil
	case "markdown":
		return planMarkdown{s}, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownFormat, format)
}

type planText struct{ s Streams }

func (v planText) Plan(p plan.Plan) error { PlanText(v.s.Out, p, v.s.Style); return nil }

func (v planText) Plans(as []AccountPlan) error { PlansText(v.s.Out, as, v.s.Style); return nil }

type planMarkdown struct{ s Streams }

func (v planMarkdown) Plan(p plan.Plan) error { PlanMarkdown(v.s.Out, p); return nil }

func (v planMarkdown) Plans(as []AccountPlan) error { PlansMarkdown(v.s.Out, as); return nil }

type planJSON struct{ s Streams }

func (v planJSON) Plan(p plan.Plan) error { return writeJSON(v.s.Out, JSONPlan(p, v.s.ToolVersion)) }

func (v planJSON) Plans(as []AccountPlan) error {
	return writeJSON(v.s.Out, JSONPlans(as, v.s.ToolVersion))
}

// JSONPlan is the plan's JSON document, paths relative to the working
// folder as every view shows them.
func JSONPlan(p plan.Plan, toolVersion string) jsonplan.Doc {
	wd, _ := os.Getwd() // without it, paths stay absolute: still correct
	return jsonplan.From(p, toolVersion, wd)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}

// Apply renders an apply: the plan it carries out, its progress, its
// summary and its audit record.
type Apply interface {
	// Plan shows the plan before it is confirmed.
	Plan(p plan.Plan)
	// Plans shows a plan over several accounts before it is confirmed.
	Plans(as []AccountPlan)
	// Summaries closes a run over several accounts.
	Summaries(rs []AccountResult)
	// Progress returns the progress display for total changes.
	Progress(total int) *Progress
	// Summary closes the run.
	Summary(r apply.Result)
	// Report shows the audit record, for formats that print it.
	Report(d report.Doc) error
}

// NewApply returns the apply view for format: text, or json (the audit
// record on stdout, progress lines on stderr).
func NewApply(format string, s Streams) (Apply, error) {
	switch format {
	case "text", "":
		return applyText{s}, nil
	case "json":
		return applyJSON{s}, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownFormat, format)
}

type applyText struct{ s Streams }

func (v applyText) Plan(p plan.Plan)             { PlanText(v.s.Out, p, v.s.Style) }
func (v applyText) Progress(total int) *Progress { return NewProgress(v.s.Out, v.s.OutTTY, total) }
func (v applyText) Summary(r apply.Result)       { ApplySummary(v.s.Out, r) }
func (v applyText) Report(report.Doc) error      { return nil }
func (v applyText) Plans(as []AccountPlan)       { PlansText(v.s.Out, as, v.s.Style) }
func (v applyText) Summaries(rs []AccountResult) { AppliesSummary(v.s.Out, rs, v.s.Style) }

type applyJSON struct{ s Streams }

func (v applyJSON) Plan(plan.Plan)            {}
func (v applyJSON) Progress(int) *Progress    { return NewProgress(v.s.Err, false, 0) }
func (v applyJSON) Summary(apply.Result)      {}
func (v applyJSON) Report(d report.Doc) error { return writeJSON(v.s.Out, d) }
func (v applyJSON) Plans([]AccountPlan)       {}
func (v applyJSON) Summaries([]AccountResult) {}
