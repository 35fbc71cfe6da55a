package main

// The CI recipes in examples/ci are what most users copy, so the rules that
// make them safe by construction are checked here, on the workflows as
// written (issue 20): every folder the merge applies was planned and
// commented on the pull request; a merge applies only a saved plan, to
// exactly its manifests; the plan run is selected by PR, head commit and
// workflow path and unpacked outside the checkout, and nothing but plan.json
// is taken from it; permissions are declared per job and minimal; one
// version, which exists, plans and applies. Since issue 21 the devices'
// files live in an S3 store, so a fresh runner sees what earlier runs did
// (workflows_store_test.go): every manifest names one, no artifact carries
// an outfile, and a nightly reconciles quietly. workflows_scripts_test.go
// runs the workflows' own shell steps against fixtures.

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v4"
)

const (
	ciDir           = "../../examples/ci"
	planWorkflow    = "mfabulk-plan.yml"
	applyWorkflow   = "mfabulk-apply.yml"
	nightlyWorkflow = "mfabulk-nightly.yml"
)

type workflow struct {
	file        string
	On          map[string]any    `yaml:"on"`
	Permissions any               `yaml:"permissions"`
	Env         map[string]string `yaml:"env"`
	Jobs        map[string]*ciJob `yaml:"jobs"`
}

type ciJob struct {
	Permissions any               `yaml:"permissions"`
	Environment any               `yaml:"environment"`
	Needs       any               `yaml:"needs"`
	If          string            `yaml:"if"`
	Env         map[string]string `yaml:"env"`
	Outputs     map[string]string `yaml:"outputs"`
	Strategy    struct {
		Matrix map[string]any `yaml:"matrix"`
	} `yaml:"strategy"`
	Steps []ciStep `yaml:"steps"`
}

type ciStep struct {
	ID   string            `yaml:"id"`
	Name string            `yaml:"name"`
	Uses string            `yaml:"uses"`
	If   string            `yaml:"if"`
	Run  string            `yaml:"run"`
	With map[string]any    `yaml:"with"`
	Env  map[string]string `yaml:"env"`
}

func (s ciStep) with(key string) string {
	v, _ := s.With[key].(string)
	if b, ok := s.With[key].(bool); ok {
		return map[bool]string{true: "true", false: "false"}[b]
	}
	return v
}

// loadWorkflows reads every examples/ci/*.yml, keyed by file name.
func loadWorkflows(t *testing.T) map[string]*workflow {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(ciDir, "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no workflows in %s (%v)", ciDir, err)
	}
	wfs := map[string]*workflow{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		wf := &workflow{file: filepath.Base(f)}
		if err := yaml.Unmarshal(data, wf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		wfs[wf.file] = wf
	}
	for _, name := range []string{planWorkflow, applyWorkflow, nightlyWorkflow} {
		if wfs[name] == nil {
			t.Fatalf("%s: missing", name)
		}
	}
	return wfs
}

// invocation is one mfabulk command in a step's script.
type invocation struct {
	wf, job string
	env     map[string]string // the step's
	args    []string          // after "mfabulk"
}

func (inv invocation) String() string {
	return inv.wf + " job " + inv.job + ": mfabulk " + strings.Join(inv.args, " ")
}

// flagValue returns the value of the first flag among names, if any.
func (inv invocation) flagValue(names ...string) (string, bool) {
	for i, a := range inv.args {
		for _, n := range names {
			if a == n && i+1 < len(inv.args) {
				return inv.args[i+1], true
			}
			if v, ok := strings.CutPrefix(a, n+"="); ok {
				return v, true
			}
		}
	}
	return "", false
}

// positionals are the arguments after the subcommand that are neither
// flags nor their values.
func (inv invocation) positionals() []string {
	valued := map[string]bool{"-f": true, "--config": true, "--report": true, "--role": true, "--plan-role": true, "--out": true, "-o": true, "--target": true, "--replace": true, "--s3-endpoint-url": true}
	var pos []string
	for i := 1; i < len(inv.args); i++ {
		a := inv.args[i]
		switch {
		case valued[a]:
			i++
		case strings.HasPrefix(a, "-"):
		default:
			pos = append(pos, a)
		}
	}
	return pos
}

// invocations finds the mfabulk commands of every run step: the lines
// that start with mfabulk, continuation lines joined, quotes dropped (these
// scripts quote single words only), up to a redirection or an operator.
func invocations(wfs map[string]*workflow) []invocation {
	var out []invocation
	for _, name := range slices.Sorted(mapKeys(wfs)) {
		wf := wfs[name]
		for _, jn := range slices.Sorted(mapKeys(wf.Jobs)) {
			for _, s := range wf.Jobs[jn].Steps {
				script := strings.ReplaceAll(s.Run, "\\\n", " ")
				for line := range strings.SplitSeq(script, "\n") {
					fields := strings.Fields(strings.NewReplacer(`"`, "", `'`, "").Replace(line))
					// The command ends at a redirection or an operator.
					if i := slices.IndexFunc(fields, func(f string) bool {
						return strings.ContainsAny(f[:1], "<>|&;") || strings.HasPrefix(f, "2>")
					}); i >= 0 {
						fields = fields[:i]
					}
					if len(fields) > 1 && fields[0] == "mfabulk" {
						out = append(out, invocation{wf: name, job: jn, env: s.Env, args: fields[1:]})
					}
				}
			}
		}
	}
	return out
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// stepByID returns the step with id in any job of wf.
func stepByID(wf *workflow, id string) (string, ciStep, bool) {
	for jn, j := range wf.Jobs {
		for _, s := range j.Steps {
			if s.ID == id {
				return jn, s, true
			}
		}
	}
	return "", ciStep{}, false
}

var fromSets = regexp.MustCompile(`^\$\{\{ fromJSON\(needs\.([a-z_-]+)\.outputs\.sets\) \}\}$`)

// setScript returns the script that lists the manifest sets a job's -f
// "$SET_DIR" comes from: its SET_DIR is ${{ matrix.set.dir }}, its matrix
// the sets output of a job it needs, which is its step "sets".
func setScript(wf *workflow, jobName string, inv invocation) (string, string) {
	j := wf.Jobs[jobName]
	if dir, _ := inv.flagValue("-f"); dir != "$SET_DIR" {
		return "", "-f " + dir + " is not $SET_DIR, a manifest set of the matrix"
	}
	if j.Env["SET_DIR"] != "${{ matrix.set.dir }}" {
		return "", "SET_DIR is not ${{ matrix.set.dir }}"
	}
	m := fromSets.FindStringSubmatch(stringOf(j.Strategy.Matrix["set"]))
	if m == nil {
		return "", "matrix.set is not ${{ fromJSON(needs.JOB.outputs.sets) }}"
	}
	src := wf.Jobs[m[1]]
	if src == nil || src.Outputs["sets"] != "${{ steps.sets.outputs.sets }}" {
		return "", "job " + m[1] + " has no output sets from its step sets"
	}
	for _, s := range src.Steps {
		if s.ID == "sets" && s.Run != "" {
			return s.Run, ""
		}
	}
	return "", "job " + m[1] + " has no step sets"
}

func stringOf(v any) string { s, _ := v.(string); return s }

// TestWorkflowsApplyOnlyWhatWasPlanned: every mfabulk apply in any workflow
// works on -f "$SET_DIR", a set listed by the very script whose sets the
// plan workflow plans (and comments on) one by one, with the role template
// the plan recorded. An apply on a push applies a saved plan; only a
// scheduled reconciliation (the nightly: schedule and workflow_dispatch,
// nothing a pull request or a push starts) applies the merged manifests
// without one, and then only --auto-approve --quiet, never --prune,
// --replace or --target (a person's decisions, made on a pull request),
// in the iam-mfa environment that admits the default branch alone.
func TestWorkflowsApplyOnlyWhatWasPlanned(t *testing.T) {
	wfs := loadWorkflows(t)
	invs := invocations(wfs)
	var planned, planRole string
	for _, inv := range invs {
		if inv.wf != planWorkflow || inv.args[0] != "plan" {
			continue
		}
		script, why := setScript(wfs[planWorkflow], inv.job, inv)
		if why != "" {
			t.Errorf("%s: %s", inv, why)
			continue
		}
		planned = script
		planRole, _ = inv.flagValue("--role")
	}
	if planned == "" {
		t.Errorf("%s plans no manifest set from a sets step", planWorkflow)
	}
	applies, reconciles := 0, 0
	for _, inv := range invs {
		if inv.args[0] != "apply" {
			continue
		}
		wf := wfs[inv.wf]
		script, why := setScript(wf, inv.job, inv)
		switch {
		case why != "":
			t.Errorf("%s: not a set the plan workflow plans: %s", inv, why)
		case script != planned:
			t.Errorf("%s: its sets are listed by another script than %s's", inv, planWorkflow)
		}
		if _, ok := inv.flagValue("-f"); !ok {
			t.Errorf("%s: applies without -f naming its manifests", inv)
		}
		// apply takes a saved plan's role template only when --role names
		// it: the same flag, from the same value in every workflow.
		if role, _ := inv.flagValue("--role"); role != planRole {
			t.Errorf("%s: --role %q, but the plan was made with --role %q", inv, role, planRole)
		}
		if a, p := wf.Env["MFABULK_ROLE_TEMPLATE"], wfs[planWorkflow].Env["MFABULK_ROLE_TEMPLATE"]; a != p {
			t.Errorf("%s: MFABULK_ROLE_TEMPLATE %q, but %s plans with %q", inv.wf, a, planWorkflow, p)
		}
		if env, _ := wf.Jobs[inv.job].Environment.(string); env != "iam-mfa" {
			t.Errorf("%s: job not in the iam-mfa environment (%v), the only one the apply role trusts", inv, wf.Jobs[inv.job].Environment)
		}
		pos := inv.positionals()
		if len(pos) == 0 {
			reconciles++
			if triggers := slices.Sorted(mapKeys(wf.On)); !slices.Equal(triggers, []string{"schedule", "workflow_dispatch"}) {
				t.Errorf("%s: applies without a saved plan on %v; only a scheduled reconciliation (schedule, workflow_dispatch) may", inv, triggers)
			}
			for _, flag := range []string{"--auto-approve", "--quiet"} {
				if !slices.Contains(inv.args, flag) {
					t.Errorf("%s: a reconciliation without %s", inv, flag)
				}
			}
			for _, flag := range []string{"--prune", "--replace", "--target"} {
				if _, ok := inv.flagValue(flag); ok || slices.Contains(inv.args, flag) {
					t.Errorf("%s: a reconciliation with %s, which only a reviewed plan may carry", inv, flag)
				}
			}
			continue
		}
		applies++
		if len(pos) != 1 || pos[0] != "$PLAN_DIR/plan.json" || !strings.HasPrefix(inv.env["PLAN_DIR"], "${{ runner.temp }}/") {
			t.Errorf("%s: applies other than exactly one saved plan downloaded outside the checkout ($PLAN_DIR/plan.json, PLAN_DIR under runner.temp): %q", inv, pos)
		}
	}
	if applies == 0 {
		t.Error("no workflow applies a saved plan")
	}
	if reconciles == 0 {
		t.Error("no workflow reconciles on a schedule")
	}
}

// TestWorkflowsEveryCommandIgnoresTheCheckoutsConfig: a checkout can carry
// ./mfabulk.yaml, which mfabulk reads by itself; every command names a
// config file under $RUNNER_TEMP instead.
func TestWorkflowsEveryCommandIgnoresTheCheckoutsConfig(t *testing.T) {
	for _, inv := range invocations(loadWorkflows(t)) {
		if c, _ := inv.flagValue("--config"); !strings.HasPrefix(c, "$RUNNER_TEMP/") {
			t.Errorf("%s: reads ./mfabulk.yaml from the checkout (no --config under $RUNNER_TEMP)", inv)
		}
	}
}

// TestWorkflowsDownloadOutsideTheCheckout: artifacts are unpacked under
// runner.temp, never into the workspace; one from another run is named
// exactly (one set's plan), and checked by the step check-plan before use.
func TestWorkflowsDownloadOutsideTheCheckout(t *testing.T) {
	found := false
	for _, wf := range loadWorkflows(t) {
		for jn, j := range wf.Jobs {
			for i, s := range j.Steps {
				if !strings.HasPrefix(s.Uses, "actions/download-artifact@") {
					continue
				}
				where := wf.file + " job " + jn + " step " + s.Name
				if p := s.with("path"); !strings.HasPrefix(p, "${{ runner.temp }}/") || strings.Contains(p, "..") {
					t.Errorf("%s: downloads into %q, not under ${{ runner.temp }}", where, p)
				}
				if s.with("run-id") == "" {
					continue
				}
				found = true
				if s.with("name") != "mfabulk-plan-${{ matrix.set.key }}" || s.with("pattern") != "" {
					t.Errorf("%s: downloads %q from another run, not one set's plan artifact", where, s.with("name")+s.with("pattern"))
				}
				if i+1 >= len(j.Steps) || j.Steps[i+1].ID != "check-plan" {
					t.Errorf("%s: the next step is not check-plan (accept nothing but plan.json)", where)
				} else if j.Steps[i+1].Env["PLAN_DIR"] != s.with("path") {
					t.Errorf("%s: check-plan checks %q, not the download path %q", where, j.Steps[i+1].Env["PLAN_DIR"], s.with("path"))
				}
			}
		}
	}
	if !found {
		t.Error("no workflow downloads a saved plan from the plan run")
	}
}

// TestWorkflowsPermissions: nothing by default; each job declares its own,
// write only for id-token (a job that takes AWS credentials) and
// pull-requests (a job that posts comments and has no AWS credentials and
// no checkout).
func TestWorkflowsPermissions(t *testing.T) {
	for _, wf := range loadWorkflows(t) {
		if p, ok := wf.Permissions.(map[string]any); !ok || len(p) != 0 {
			t.Errorf("%s: top-level permissions %v, want {} (each job declares its own)", wf.file, wf.Permissions)
		}
		for jn, j := range wf.Jobs {
			perms, ok := j.Permissions.(map[string]any)
			if !ok {
				t.Errorf("%s job %s: no permissions of its own (%v)", wf.file, jn, j.Permissions)
				continue
			}
			aws, checkout := false, false
			for _, s := range j.Steps {
				aws = aws || strings.HasPrefix(s.Uses, "aws-actions/configure-aws-credentials@")
				checkout = checkout || strings.HasPrefix(s.Uses, "actions/checkout@")
			}
			for scope, level := range perms {
				switch {
				case level == "read" || level == "none":
				case level == "write" && scope == "id-token" && aws:
				case level == "write" && scope == "pull-requests" && !aws && !checkout:
				default:
					t.Errorf("%s job %s: %s: %v is more than it needs", wf.file, jn, scope, level)
				}
			}
		}
	}
}

// TestWorkflowsCheckoutKeepsNoToken: no job leaves the token in .git/config.
func TestWorkflowsCheckoutKeepsNoToken(t *testing.T) {
	for _, wf := range loadWorkflows(t) {
		for jn, j := range wf.Jobs {
			for _, s := range j.Steps {
				if strings.HasPrefix(s.Uses, "actions/checkout@") && s.with("persist-credentials") != "false" {
					t.Errorf("%s job %s: checkout without persist-credentials: false", wf.file, jn)
				}
			}
		}
	}
}

// TestWorkflowsPinOneVersionThatExists: plan and apply install the same
// mfabulk (a saved plan's fingerprint covers the version), a commit or a
// tag of this repository.
func TestWorkflowsPinOneVersionThatExists(t *testing.T) {
	wfs := loadWorkflows(t)
	pins := map[string][]string{}
	for _, wf := range wfs {
		v := wf.Env["MFABULK_VERSION"]
		pins[v] = append(pins[v], wf.file)
		for jn, j := range wf.Jobs {
			for _, s := range j.Steps {
				if strings.Contains(s.Run, "go install") && !strings.Contains(s.Run, `github.com/mfabulk/mfabulk/cmd/mfabulk@${MFABULK_VERSION}"`) {
					t.Errorf("%s job %s: installs mfabulk other than @${MFABULK_VERSION}: %s", wf.file, jn, s.Run)
				}
			}
		}
	}
	if len(pins) != 1 {
		t.Fatalf("the workflows pin different versions: %v", pins)
	}
	var v string
	for v = range pins {
	}
	if v == "" {
		t.Fatal("no MFABULK_VERSION pinned")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: cannot check that the pinned version exists")
	}
	if err := exec.Command("git", "-C", "../..", "rev-parse", "--git-dir").Run(); err != nil {
		t.Skip("not in a git checkout: cannot check that the pinned version exists")
	}
	commit := regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(v) &&
		exec.Command("git", "-C", "../..", "cat-file", "-e", v+"^{commit}").Run() == nil
	tag := exec.Command("git", "-C", "../..", "rev-parse", "-q", "--verify", "refs/tags/"+v).Run() == nil
	if !commit && !tag {
		if out, _ := exec.Command("git", "-C", "../..", "rev-parse", "--is-shallow-repository").Output(); strings.TrimSpace(string(out)) == "true" {
			t.Skipf("a shallow clone lacks the history to find MFABULK_VERSION %s in", v)
		}
		t.Errorf("MFABULK_VERSION %s is neither a full commit hash nor a tag of this repository", v)
	}
}
