package main

import (
	"strings"
	"testing"

	"github.com/mfabulk/mfabulk/internal/manifest"
)

// awsRole is the base role a job takes by OIDC (role-to-assume of its
// aws-actions/configure-aws-credentials step), "" for a job without AWS
// credentials.
func awsRole(j *ciJob) string {
	for _, s := range j.Steps {
		if strings.HasPrefix(s.Uses, "aws-actions/configure-aws-credentials@") {
			return s.with("role-to-assume")
		}
	}
	return ""
}

// envValue resolves a flag's value "$NAME" from the step's, the job's or
// the workflow's env, as the runner does.
func envValue(wf *workflow, inv invocation, value string) (string, bool) {
	name, ok := strings.CutPrefix(value, "$")
	if !ok {
		return value, true
	}
	for _, env := range []map[string]string{inv.env, wf.Jobs[inv.job].Env, wf.Env} {
		if v, ok := env[name]; ok {
			return v, true
		}
	}
	return "", false
}

// TestWorkflowsPlanReadsThroughARoleApplyDoesNotTrust: the plan job runs
// for every same-repository pull request before any review, as the pull
// request's own workflow, so what its credentials can do, its author can.
// Every plan with AWS credentials reads through --plan-role, a role
// template other than --role's (which its saved plan records for apply),
// from another base role than apply's; no apply names --plan-role.
func TestWorkflowsPlanReadsThroughARoleApplyDoesNotTrust(t *testing.T) {
	wfs := loadWorkflows(t)
	planBases, applyBases := map[string]bool{}, map[string]bool{}
	plans := 0
	for _, inv := range invocations(wfs) {
		wf := wfs[inv.wf]
		base := awsRole(wf.Jobs[inv.job])
		switch {
		case inv.args[0] == "apply":
			applyBases[base] = true
			if _, ok := inv.flagValue("--plan-role"); ok {
				t.Errorf("%s: apply names --plan-role", inv)
			}
			continue
		case inv.args[0] != "plan" || base == "":
			continue
		}
		plans++
		planBases[base] = true
		templates := map[string]manifest.RoleTemplate{}
		for _, flag := range []string{"--role", "--plan-role"} {
			v, ok := inv.flagValue(flag)
			if !ok {
				t.Errorf("%s: no %s", inv, flag)
				continue
			}
			text, ok := envValue(wf, inv, v)
			if !ok {
				t.Errorf("%s: %s %s is set nowhere", inv, flag, v)
				continue
			}
			rt, err := manifest.ParseRoleTemplate(text)
			if err != nil {
				t.Errorf("%s: %s: %v", inv, flag, err)
				continue
			}
			templates[flag] = rt
		}
		if len(templates) != 2 {
			continue
		}
		role, _ := templates["--role"].Expand("111111111111")
		read, _ := templates["--plan-role"].Expand("111111111111")
		if role == read {
			t.Errorf("%s: --plan-role makes %s, the role --role gives apply", inv, read)
		}
	}
	if plans == 0 {
		t.Fatalf("%s: no mfabulk plan with AWS credentials", planWorkflow)
	}
	if len(applyBases) == 0 {
		t.Fatal("no workflow applies")
	}
	for b := range planBases {
		if applyBases[b] || b == "" {
			t.Errorf("the plan job takes base role %q, as an apply job does", b)
		}
	}
}
