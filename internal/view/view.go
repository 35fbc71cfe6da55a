// Package view renders plans and applies: one view per output format
// (text for people, JSON for tools, Markdown for pull requests), chosen
// once with [NewPlan] or [NewApply]. It only formats: every number and
// decision comes from the plan and apply values.
package view

import (
	"os"

	"github.com/mfabulk/mfabulk/internal/plan/jsonplan"
)

// rel shows an outfile relative to the working folder when it is inside
// it, as a user typed it, and absolute otherwise: the same rule as the
// JSON documents'.
func rel(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	return jsonplan.Rel(wd, path)
}
