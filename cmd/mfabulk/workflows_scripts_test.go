package main

// The workflows' own shell steps, run as GitHub Actions runs them (bash -e
// -o pipefail) against fixtures: gh and mfabulk are small fakes on PATH.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/mfabulk/mfabulk/internal/plan/planfile"
	"github.com/mfabulk/mfabulk/internal/reftools"
)

// ghStep is a run step of a workflow, ready to run.
type ghStep struct {
	t      *testing.T
	script string
	env    map[string]string
}

// workflowStep finds the step with id in file, skipping where its script
// cannot run (GNU find and stat, bash, jq).
func workflowStep(t *testing.T, file, id string) ghStep {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the workflows' scripts run on ubuntu-latest (GNU find, stat)")
	}
	reftools.Require(t, "bash", "bash")
	reftools.Require(t, "jq", "jq")
	wf := loadWorkflows(t)[file]
	if wf == nil {
		t.Fatalf("%s: missing", file)
	}
	_, s, ok := stepByID(wf, id)
	if !ok || s.Run == "" {
		t.Fatalf("%s: no run step with id %s", file, id)
	}
	return ghStep{t: t, script: s.Run, env: map[string]string{}}
}

// run runs the step in dir with env (and RUNNER_TEMP, GITHUB_OUTPUT,
// GITHUB_STEP_SUMMARY under dir), returning its exit code, its output and
// what it wrote to GITHUB_OUTPUT.
func (s ghStep) run(dir string) (int, string, map[string]string) {
	s.t.Helper()
	temp := filepath.Join(dir, ".runner-temp")
	if err := os.MkdirAll(temp, 0o700); err != nil {
		s.t.Fatal(err)
	}
	script := filepath.Join(temp, "step.sh")
	if err := os.WriteFile(script, []byte(s.script), 0o600); err != nil {
		s.t.Fatal(err)
	}
	outputs := filepath.Join(temp, "github-output")
	os.Remove(outputs)
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "RUNNER_TEMP="+temp, "GITHUB_OUTPUT="+outputs,
		"GITHUB_STEP_SUMMARY="+filepath.Join(temp, "summary"), "GITHUB_REPOSITORY=o/r")
	for k, v := range s.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatal(err)
	}
	got := map[string]string{}
	data, _ := os.ReadFile(outputs)
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			got[k] = v
		}
	}
	return code, string(out), got
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWorkflowSetsAreEveryFolderOfManifests: the set list (the same script
// in both workflows) has every folder under iam/mfa that holds manifests,
// top folder and account folders alike, and refuses names an artifact or
// a comment could not carry.
func TestWorkflowSetsAreEveryFolderOfManifests(t *testing.T) {
	step := workflowStep(t, planWorkflow, "sets")
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"iam/mfa/cohort.yaml":                    "version: 1\n",
		"iam/mfa/recipients.txt":                 "",
		"iam/mfa/accounts/111/m.yaml":            "version: 1\n",
		"iam/mfa/accounts/222/nested/m.yml":      "version: 1\n",
		"iam/mfa/accounts/333/README.md":         "",
		"iam/mfa/accounts/444/sub.dir_x-y/a.yml": "version: 1\n",
	})
	code, out, got := step.run(dir)
	if code != 0 {
		t.Fatalf("sets step exited %d:\n%s", code, out)
	}
	var sets []struct{ Dir, Key string }
	if err := json.Unmarshal([]byte(got["sets"]), &sets); err != nil {
		t.Fatalf("sets=%q: %v", got["sets"], err)
	}
	want := []struct{ Dir, Key string }{
		{"iam/mfa", "iam+mfa"},
		{"iam/mfa/accounts/111", "iam+mfa+accounts+111"},
		{"iam/mfa/accounts/222/nested", "iam+mfa+accounts+222+nested"},
		{"iam/mfa/accounts/444/sub.dir_x-y", "iam+mfa+accounts+444+sub.dir_x-y"},
	}
	if !slices.Equal(sets, want) {
		t.Errorf("sets = %+v, want %+v", sets, want)
	}

	for _, bad := range []string{"a b`x", "x\niam", "$(x)", "é"} {
		d := t.TempDir()
		writeFiles(t, d, map[string]string{"iam/mfa/accounts/" + bad + "/m.yaml": "version: 1\n", "iam/mfa/m.yaml": ""})
		if code, out, got := step.run(d); code == 0 {
			t.Errorf("a folder named %q: listed, sets %s:\n%s", bad, got["sets"], out)
		}
	}
	if code, _, got := step.run(t.TempDir()); code != 0 || got["sets"] != "[]" {
		t.Errorf("no iam/mfa: exit %d, sets %q; want 0 and []", code, got["sets"])
	}

	// The apply and nightly workflows list the merged tree's sets with the
	// same script.
	for _, name := range []string{applyWorkflow, nightlyWorkflow} {
		if _, s, ok := stepByID(loadWorkflows(t)[name], "sets"); !ok || s.Run != step.script {
			t.Errorf("%s lists its sets with another script than mfabulk-plan.yml", name)
		}
	}
}

// TestWorkflowPlanFailsOnARefusedPlanButKeepsItsMarkdown: plan
// --detailed-exitcode: 0 and 2 pass, anything else fails the step; the
// Markdown and the exit code are kept in every case, for the comment.
func TestWorkflowPlanFailsOnARefusedPlanButKeepsItsMarkdown(t *testing.T) {
	step := workflowStep(t, planWorkflow, "plan")
	if !strings.Contains(step.script, "--detailed-exitcode") {
		t.Fatal("the plan step does not ask for --detailed-exitcode")
	}
	bin := t.TempDir()
	writeFiles(t, bin, map[string]string{"mfabulk": `#!/bin/sh
echo "# plan of $*"
exit "$FAKE_EXIT"
`})
	os.Chmod(filepath.Join(bin, "mfabulk"), 0o755)
	for _, tc := range []struct{ exit, want int }{{0, 0}, {2, 0}, {1, 1}, {3, 1}} {
		dir := t.TempDir()
		step.env = map[string]string{"PATH": bin + ":" + os.Getenv("PATH"), "FAKE_EXIT": fmt.Sprint(tc.exit),
			"SET_DIR": "iam/mfa", "MFABULK_ROLE_TEMPLATE": "arn:aws:iam::{{.Account}}:role/mfabulk",
			"MFABULK_PLAN_ROLE_TEMPLATE": "arn:aws:iam::{{.Account}}:role/mfabulk-plan"}
		code, out, _ := step.run(dir)
		if (code == 0) != (tc.want == 0) {
			t.Errorf("mfabulk exit %d: step exit %d, want %d:\n%s", tc.exit, code, tc.want, out)
		}
		md, err := os.ReadFile(filepath.Join(dir, ".runner-temp/out/md/plan.md"))
		if err != nil || !bytes.Contains(md, []byte("# plan of plan ")) {
			t.Errorf("mfabulk exit %d: Markdown not kept (%v): %q", tc.exit, err, md)
		}
		if ec, _ := os.ReadFile(filepath.Join(dir, ".runner-temp/out/md/exitcode")); strings.TrimSpace(string(ec)) != fmt.Sprint(tc.exit) {
			t.Errorf("mfabulk exit %d: exit code kept as %q", tc.exit, ec)
		}
	}

	// The Markdown goes up whatever the step did, and the comment job runs
	// whatever the plan jobs did.
	wf := loadWorkflows(t)[planWorkflow]
	jn, _, _ := stepByID(wf, "plan")
	kept := false
	for _, s := range wf.Jobs[jn].Steps {
		if strings.HasPrefix(s.Uses, "actions/upload-artifact@") && strings.Contains(s.with("path"), "/md") {
			kept = s.If == "always()"
		}
	}
	if !kept {
		t.Error("the Markdown is not uploaded with if: always()")
	}
	if c := wf.Jobs["comment"]; c == nil || !strings.HasPrefix(c.If, "always()") {
		t.Error("no comment job that runs always()")
	}
}

// TestWorkflowAcceptsNothingButPlanJSON: the check after the download
// passes one regular file plan.json and nothing else.
func TestWorkflowAcceptsNothingButPlanJSON(t *testing.T) {
	step := workflowStep(t, "mfabulk-apply.yml", "check-plan")
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		ok    bool
	}{
		{"plan.json", func(t *testing.T, d string) { writeFiles(t, d, map[string]string{"plan.json": "{}"}) }, true},
		{"plan.json and mfabulk.yaml", func(t *testing.T, d string) {
			writeFiles(t, d, map[string]string{"plan.json": "{}", "mfabulk.yaml": "role: x\n"})
		}, false},
		{"plan.json in a folder", func(t *testing.T, d string) { writeFiles(t, d, map[string]string{"x/plan.json": "{}"}) }, false},
		{"another name", func(t *testing.T, d string) { writeFiles(t, d, map[string]string{"plan.yaml": "{}"}) }, false},
		{"a link", func(t *testing.T, d string) {
			writeFiles(t, d, map[string]string{"../target.json": "{}"})
			if err := os.Symlink("../target.json", filepath.Join(d, "plan.json")); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"a folder named plan.json", func(t *testing.T, d string) { os.Mkdir(filepath.Join(d, "plan.json"), 0o755) }, false},
		{"nothing", func(t *testing.T, d string) {}, false},
		{"larger than mfabulk reads", func(t *testing.T, d string) {
			writeFiles(t, d, map[string]string{"plan.json": ""})
			if err := os.Truncate(filepath.Join(d, "plan.json"), planfile.MaxSize+1); err != nil {
				t.Fatal(err)
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			planDir := filepath.Join(work, "plan-set")
			if err := os.Mkdir(planDir, 0o755); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, planDir)
			step.env = map[string]string{"PLAN_DIR": planDir, "SET_DIR": "iam/mfa"}
			code, out, _ := step.run(work)
			if (code == 0) != tc.ok {
				t.Errorf("check exited %d, want ok=%v:\n%s", code, tc.ok, out)
			}
		})
	}
}
