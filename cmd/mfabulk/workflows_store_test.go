package main

// The recipes keep the devices' files in the S3 store, not on the runner
// (issue 21): a merge's artifact of everyone's outfiles, and its lost
// records, made the next pull request's plan show every earlier device as
// "! mismatch" and a nightly on a fresh runner fail every night.

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestWorkflowsKeepNoOutfileInAnArtifact: no artifact carries an outfile,
// a record or an intent: every upload names files under runner.temp that
// mfabulk's own outputs (a saved plan, the Markdown, an audit report) go
// to, never a pattern, never the checkout, never a .age file.
func TestWorkflowsKeepNoOutfileInAnArtifact(t *testing.T) {
	uploads := 0
	for _, wf := range loadWorkflows(t) {
		for jn, j := range wf.Jobs {
			for _, s := range j.Steps {
				if !strings.HasPrefix(s.Uses, "actions/upload-artifact@") {
					continue
				}
				uploads++
				where := wf.file + " job " + jn + " step " + s.Name
				for p := range strings.SplitSeq(strings.TrimSpace(s.with("path")), "\n") {
					p = strings.TrimSpace(p)
					switch {
					case !strings.HasPrefix(p, "${{ runner.temp }}/") || strings.Contains(p, ".."):
						t.Errorf("%s: uploads %q, not a file under ${{ runner.temp }}", where, p)
					case strings.ContainsAny(p, "*?[!"):
						t.Errorf("%s: uploads the pattern %q, which can match an outfile", where, p)
					case strings.Contains(p, ".age") || strings.Contains(p, ".id") || strings.Contains(p, ".intent") || strings.Contains(p, "matrix.set.dir"):
						t.Errorf("%s: uploads %q: an outfile, record or intent in an artifact", where, p)
					}
				}
			}
		}
	}
	if uploads == 0 {
		t.Fatal("no workflow uploads anything: the saved plan is not handed to the merge")
	}
}

// TestWorkflowsCheckEveryManifestNamesAStore: every job that plans or
// applies a set first checks, with one script in every workflow and before
// it takes AWS credentials, that each manifest of the set names a store;
// no command lets a store without versioning through.
func TestWorkflowsCheckEveryManifestNamesAStore(t *testing.T) {
	wfs := loadWorkflows(t)
	_, want, ok := stepByID(wfs[planWorkflow], "store")
	if !ok || want.Run == "" {
		t.Fatalf("%s: no step store", planWorkflow)
	}
	for _, inv := range invocations(wfs) {
		if slices.Contains(inv.args, "--allow-unversioned-store") {
			t.Errorf("%s: --allow-unversioned-store in CI", inv)
		}
		if inv.args[0] != "plan" && inv.args[0] != "apply" {
			continue
		}
		checked, creds := -1, -1
		for i, s := range wfs[inv.wf].Jobs[inv.job].Steps {
			if s.ID == "store" {
				checked = i
				if s.Run != want.Run {
					t.Errorf("%s: its store check is another script than %s's", inv, planWorkflow)
				}
			}
			if strings.HasPrefix(s.Uses, "aws-actions/configure-aws-credentials@") && creds < 0 {
				creds = i
			}
		}
		if checked < 0 || creds >= 0 && checked > creds {
			t.Errorf("%s: no store check before the job takes AWS credentials", inv)
		}
	}
	for _, wf := range wfs {
		for k := range wf.Env {
			if strings.Contains(k, "UNVERSIONED") {
				t.Errorf("%s: env %s", wf.file, k)
			}
		}
	}
}

// TestWorkflowStoreCheckRefusesAManifestWithoutAStore runs the check: a
// top-level store: in every manifest of the set (flow or block form)
// passes; one manifest without it, a store: under defaults or in a
// comment, fails the job, naming the file.
func TestWorkflowStoreCheckRefusesAManifestWithoutAStore(t *testing.T) {
	step := workflowStep(t, planWorkflow, "store")
	const withStore = "version: 1\nstore: s3://bucket/prefix/\ndevices: []\n"
	for _, tc := range []struct {
		name  string
		files map[string]string
		ok    bool
	}{
		{"every manifest names one", map[string]string{"a.yaml": withStore, "b.yml": "version: 1\nstore:\n  url: s3://b/p/\n  kmsKeyId: k\r\n"}, true},
		{"a manifest in a nested set is its own set's", map[string]string{"a.yaml": withStore, "sub/b.yaml": "version: 1\n"}, true},
		{"one manifest without", map[string]string{"a.yaml": withStore, "b.yaml": "version: 1\ndevices: []\n"}, false},
		{"store under defaults", map[string]string{"a.yaml": "version: 1\ndefaults:\n  store: s3://b/p/\n"}, false},
		{"store in a comment", map[string]string{"a.yaml": "version: 1\n# store: s3://b/p/\n"}, false},
		{"another key", map[string]string{"a.yaml": "version: 1\nstores: s3://b/p/\n"}, false},
		{"a strange file name", map[string]string{"a\nstore:.yaml": "version: 1\n", "b.yaml": withStore}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{}
			for name, content := range tc.files {
				files["iam/mfa/"+name] = content
			}
			writeFiles(t, dir, files)
			step.env = map[string]string{"SET_DIR": "iam/mfa"}
			code, out, _ := step.run(dir)
			if (code == 0) != tc.ok {
				t.Errorf("store check exited %d, want ok=%v:\n%s", code, tc.ok, out)
			}
			if !tc.ok && !strings.Contains(out, "::error::a manifest of iam/mfa names no store:") {
				t.Errorf("no error line naming the set:\n%s", out)
			}
		})
	}
}

// TestWorkflowNightlyReconcilesFromTheStore: the nightly runs on a
// schedule and on demand, from the default branch only, and applies every
// set with --auto-approve --quiet (the rules of a reconciliation are in
// TestWorkflowsApplyOnlyWhatWasPlanned).
func TestWorkflowNightlyReconcilesFromTheStore(t *testing.T) {
	wf := loadWorkflows(t)[nightlyWorkflow]
	crons, _ := wf.On["schedule"].([]any)
	if len(crons) == 0 {
		t.Errorf("%s: no schedule", nightlyWorkflow)
	}
	if _, ok := wf.On["workflow_dispatch"]; !ok {
		t.Errorf("%s: cannot be run on demand (workflow_dispatch)", nightlyWorkflow)
	}
	_, s, ok := stepByID(wf, "reconcile")
	if !ok || !strings.Contains(s.Run, "--auto-approve --quiet") {
		t.Errorf("%s: no step reconcile running apply --auto-approve --quiet", nightlyWorkflow)
	}

	// The default branch, as mfabulk-apply.yml's push trigger names it.
	_, b, _ := stepByID(wf, "branch")
	push, _ := loadWorkflows(t)[applyWorkflow].On["push"].(map[string]any)
	branches, _ := push["branches"].([]any)
	if b.Env["DEFAULT_BRANCH"] == "" || !slices.Contains(branches, any(b.Env["DEFAULT_BRANCH"])) {
		t.Errorf("%s: the default branch is %q, not mfabulk-apply.yml's main", nightlyWorkflow, b.Env["DEFAULT_BRANCH"])
	}
	branch := workflowStep(t, nightlyWorkflow, "branch")
	for ref, ok := range map[string]bool{"refs/heads/main": true, "refs/heads/feature": false, "refs/pull/7/merge": false} {
		branch.env = map[string]string{"GITHUB_REF": ref, "DEFAULT_BRANCH": b.Env["DEFAULT_BRANCH"]}
		if code, out, _ := branch.run(t.TempDir()); (code == 0) != ok {
			t.Errorf("GITHUB_REF %s: exit %d, want ok=%v:\n%s", ref, code, ok, out)
		}
	}
}

// TestWorkflowNightlyIsQuietUnlessSomethingNeedsAPerson runs the nightly's
// step with a fake mfabulk: nothing changed, nothing in the log or the
// summary; what apply finished by itself, in both, and the job passes; any
// other exit fails the job with one error line naming the set, mfabulk's
// output in the log and the summary.
func TestWorkflowNightlyIsQuietUnlessSomethingNeedsAPerson(t *testing.T) {
	step := workflowStep(t, nightlyWorkflow, "reconcile")
	bin := t.TempDir()
	writeFiles(t, bin, map[string]string{"mfabulk": `#!/bin/sh
echo "$*" > "$ARGS"
printf '%s' "$FAKE_OUT"
[ -z "$FAKE_ERR" ] || echo "$FAKE_ERR" >&2
exit "$FAKE_EXIT"
`})
	if err := os.Chmod(filepath.Join(bin, "mfabulk"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, out, err, exit string
		ok, loud             bool
	}{
		{"nothing changed", "", "", "0", true, false},
		{"reconciled", "mfabulk will perform the following actions\n  ~ settle alice\n", "Auto-approved (--auto-approve): applying without asking.", "0", true, true},
		{"a mismatch left alone", "  ! mismatch alice\n", "mfabulk: error: 1 device(s) left alone", "1", false, true},
		{"the store refused", "", "mfabulk: error: store s3://b/p/: versioning is not enabled", "1", false, true},
		{"interrupted", "", "", "130", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := filepath.Join(dir, "args")
			step.env = map[string]string{"PATH": bin + ":" + os.Getenv("PATH"), "ARGS": args,
				"FAKE_OUT": tc.out, "FAKE_ERR": tc.err, "FAKE_EXIT": tc.exit,
				"SET_DIR": "iam/mfa", "MFABULK_ROLE_TEMPLATE": "arn:aws:iam::{{.Account}}:role/mfabulk"}
			code, out, outputs := step.run(dir)
			summary, _ := os.ReadFile(filepath.Join(dir, ".runner-temp/summary"))
			if (code == 0) != tc.ok {
				t.Errorf("step exit %d, want ok=%v:\n%s", code, tc.ok, out)
			}
			if got, _ := os.ReadFile(args); !strings.Contains(string(got), "--auto-approve --quiet") {
				t.Errorf("mfabulk ran as %q", got)
			}
			switch {
			case tc.ok && !tc.loud:
				if out != "" || len(summary) != 0 || outputs["changed"] != "" {
					t.Errorf("nothing changed, yet the step said %q, summary %q, outputs %v", out, summary, outputs)
				}
			case tc.ok:
				if !strings.Contains(out, "::notice::") || !strings.Contains(string(summary), "settle alice") || outputs["changed"] != "true" {
					t.Errorf("reconciled: log %q, summary %q, outputs %v", out, summary, outputs)
				}
			default:
				if n := strings.Count(out, "::error::"); n != 1 || !strings.Contains(out, "exited "+tc.exit+" for iam/mfa: something needs a person") {
					t.Errorf("failed without one error line naming the set and the exit code:\n%s", out)
				}
				if tc.err != "" && (!strings.Contains(out, tc.err) || !strings.Contains(string(summary), tc.err)) {
					t.Errorf("mfabulk's output is not in the log and the summary: log %q, summary %q", out, summary)
				}
			}
		})
	}
}

// TestWorkflowPlanPrintsTheWholePlanInTheLog: the comment is bounded, the
// log is not: the plan job prints the saved plan it keeps with show-plan.
func TestWorkflowPlanPrintsTheWholePlanInTheLog(t *testing.T) {
	var saved string
	shown := map[string]bool{}
	for _, inv := range invocations(loadWorkflows(t)) {
		if inv.wf != planWorkflow {
			continue
		}
		switch inv.args[0] {
		case "plan":
			saved, _ = inv.flagValue("--out")
		case "show-plan":
			for _, p := range inv.positionals() {
				shown[p] = true
			}
		}
	}
	if saved == "" || !shown[saved] {
		t.Errorf("%s: the saved plan %q is not printed with show-plan (shown: %v)", planWorkflow, saved, shown)
	}
}
