package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeGH answers the GitHub API calls of the apply workflow's run
// selection from fixtures, and logs the calls.
const fakeGH = `#!/bin/sh
echo "$*" >> "$FIX/calls"
case "$*" in
  *"/commits/"*"/pulls"*) cat "$FIX/pulls.json" ;;
  *"/pulls?state=all"*) cat "$FIX/same-head.json" ;;
  *"/issues/7/events"*) cat "$FIX/events.json" ;;
  *"/actions/workflows/mfabulk-plan.yml/runs"*) cat "$FIX/runs.json" ;;
  *) echo "unexpected: gh $*" >&2; exit 1 ;;
esac
`

const (
	mergeSHA = "1111111111111111111111111111111111111111"
	headSHA  = "2222222222222222222222222222222222222222"
)

type fixtureRun map[string]any

// honestRun is the plan run PR #7 made for its head commit.
func honestRun(id, number int) fixtureRun {
	return fixtureRun{"id": id, "run_number": number, "event": "pull_request",
		"path": ".github/workflows/mfabulk-plan.yml", "head_sha": headSHA, "head_branch": "feature",
		"head_repository": map[string]any{"full_name": "o/r"}, "pull_requests": []any{},
		"status": "completed", "conclusion": "success", "created_at": "2026-01-01T10:00:00Z"}
}

func (r fixtureRun) with(k string, v any) fixtureRun {
	c := fixtureRun{}
	for key, val := range r {
		c[key] = val
	}
	c[k] = v
	return c
}

func mergedPR(base string) map[string]any {
	return map[string]any{"number": 7, "merged_at": "2026-01-01T00:00:00Z", "merge_commit_sha": mergeSHA,
		"base": map[string]any{"ref": base},
		"head": map[string]any{"sha": headSHA, "ref": "feature", "repo": map[string]any{"full_name": "o/r"}}}
}

// TestWorkflowSelectsThePRsOwnPlanRun: the merge takes the newest plan run
// of the merged PR's head commit, from the PR's branch of this repository,
// of the workflow file .github/workflows/mfabulk-plan.yml, and only if it
// succeeded; another PR proposing the same head makes it refuse.
func TestWorkflowSelectsThePRsOwnPlanRun(t *testing.T) {
	step := workflowStep(t, "mfabulk-apply.yml", "run")
	bin := t.TempDir()
	writeFiles(t, bin, map[string]string{"gh": fakeGH})
	os.Chmod(filepath.Join(bin, "gh"), 0o755)
	honest := honestRun(100, 10)
	samePR := []any{map[string]any{"number": 7, "head": map[string]any{"sha": headSHA}}}
	for _, tc := range []struct {
		name     string
		pulls    []any
		sameHead []any
		runs     []fixtureRun
		want     string // the run id, or "" for a refusal
		events   []any  // the PR's; none when nil
	}{
		{"the PR's run", []any{mergedPR("main")}, samePR, []fixtureRun{honest}, "100", nil},
		{"a newer run from another branch with the same head", []any{mergedPR("main")}, samePR,
			[]fixtureRun{honest, honestRun(200, 11).with("head_branch", "evil")}, "100", nil},
		{"a newer run of another workflow file", []any{mergedPR("main")}, samePR,
			[]fixtureRun{honest, honestRun(201, 11).with("path", ".github/workflows/other.yml")}, "100", nil},
		{"a newer run for another head commit", []any{mergedPR("main")}, samePR,
			[]fixtureRun{honest, honestRun(202, 11).with("head_sha", strings.Repeat("3", 40))}, "100", nil},
		{"a newer run from a fork", []any{mergedPR("main")}, samePR,
			[]fixtureRun{honest, honestRun(203, 11).with("head_repository", map[string]any{"full_name": "evil/r"})}, "100", nil},
		{"a newer run of a push", []any{mergedPR("main")}, samePR,
			[]fixtureRun{honest, honestRun(204, 11).with("event", "push")}, "100", nil},
		{"a newer run for another PR against another base", []any{mergedPR("main")}, samePR,
			[]fixtureRun{honest, honestRun(205, 11).with("pull_requests", []any{map[string]any{"number": 8, "base": map[string]any{"ref": "evil"}}})}, "100", nil},
		{"another PR proposed the same head", []any{mergedPR("main")},
			append([]any{map[string]any{"number": 8, "head": map[string]any{"sha": headSHA}}}, samePR...),
			[]fixtureRun{honest}, "", nil},
		{"the newest run failed", []any{mergedPR("main")}, samePR,
			[]fixtureRun{honest, honestRun(206, 11).with("conclusion", "failure")}, "", nil},
		{"the newest run is still running", []any{mergedPR("main")}, samePR,
			[]fixtureRun{honest, honestRun(207, 11).with("status", "in_progress").with("conclusion", nil)}, "", nil},
		{"no run", []any{mergedPR("main")}, samePR, nil, "", nil},
		{"merged into another branch", []any{mergedPR("release")}, samePR, []fixtureRun{honest}, "", nil},
		{"not a merge", []any{}, samePR, []fixtureRun{honest}, "", nil},
		{"the base changed before the newest run", []any{mergedPR("main")}, samePR, []fixtureRun{honest}, "100",
			[]any{map[string]any{"event": "base_ref_changed", "created_at": "2026-01-01T09:00:00Z"}}},
		{"the base changed after the newest run", []any{mergedPR("main")}, samePR, []fixtureRun{honest}, "",
			[]any{map[string]any{"event": "base_ref_changed", "created_at": "2026-01-01T09:00:00Z"},
				map[string]any{"event": "base_ref_changed", "created_at": "2026-01-01T11:00:00Z"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fix := t.TempDir()
			runs := tc.runs
			if runs == nil {
				runs = []fixtureRun{}
			}
			events := tc.events
			if events == nil {
				events = []any{map[string]any{"event": "labeled", "created_at": "2026-01-01T11:00:00Z"}}
			}
			for name, v := range map[string]any{"pulls.json": tc.pulls, "same-head.json": tc.sameHead, "events.json": events,
				"runs.json": map[string]any{"total_count": len(runs), "workflow_runs": runs}} {
				data, _ := json.Marshal(v)
				writeFiles(t, fix, map[string]string{name: string(data)})
			}
			step.env = map[string]string{"PATH": bin + ":" + os.Getenv("PATH"), "FIX": fix, "GH_TOKEN": "x",
				"REPO": "o/r", "SHA": mergeSHA, "DEFAULT_BRANCH": "main", "GITHUB_REF": "refs/heads/main"}
			code, out, got := step.run(t.TempDir())
			switch {
			case tc.want == "" && (code == 0 || got["run_id"] != ""):
				t.Errorf("selected run %q (exit %d), want a refusal:\n%s", got["run_id"], code, out)
			case tc.want != "" && (code != 0 || got["run_id"] != tc.want):
				t.Errorf("selected run %q (exit %d), want %s:\n%s", got["run_id"], code, tc.want, out)
			}
			calls, _ := os.ReadFile(filepath.Join(fix, "calls"))
			if tc.want != "" && !strings.Contains(string(calls), "head_sha="+headSHA) {
				t.Errorf("the runs were not asked for the head commit:\n%s", calls)
			}
		})
	}
}
