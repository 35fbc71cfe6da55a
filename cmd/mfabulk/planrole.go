package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/view"
)

// planRoleHint is the command that --plan-role's errors point to.
const planRoleHint = "plan --role 'arn:aws:iam::{{.Account}}:role/mfabulk' --plan-role 'arn:aws:iam::{{.Account}}:role/mfabulk-plan'"

// addPlanRoleFlag adds plan's --plan-role. A pull request's plan job runs
// before any review, as the pull request's own workflow: the role it can
// assume must not be one that changes devices. --role stays the role the
// saved plan records for apply; --plan-role is the read-only role plan
// reads through instead.
func addPlanRoleFlag(cmd *cobra.Command, role *string) {
	cmd.Flags().StringVar(role, "plan-role", "", "read-only role `template` plan reads each account through, in place of --role's (which the saved plan keeps for apply), e.g. arn:aws:iam::{{.Account}}:role/mfabulk-plan")
}

// addRefusedPlanRoleFlag gives apply a hidden --plan-role, only to refuse
// it by name (refusePlanRole) rather than as an unknown flag.
func addRefusedPlanRoleFlag(cmd *cobra.Command) {
	var ignored string
	addPlanRoleFlag(cmd, &ignored)
	_ = cmd.Flags().MarkHidden("plan-role")
}

// refusePlanRole refuses --plan-role (or MFABULK_PLAN_ROLE) for apply,
// which changes devices and so assumes --role's role; plan-role in a
// config file, which every command reads, is left to plan as plan's other
// settings are.
func refusePlanRole(cmd *cobra.Command) error {
	if !named(cmd, "plan-role") {
		return nil
	}
	return withHint(errors.New("apply does not take --plan-role (or MFABULK_PLAN_ROLE): it changes devices, through the role --role's template gives (the saved plan's)"),
		"drop --plan-role from apply; give it to plan only, whose reads it is for")
}

// planReadRoles expands --plan-role for each account whose role is
// --role's template's, checking every expansion (an IAM role ARN in that
// account, and not the role apply assumes), before any AWS call. An
// account whose manifests name their own role: is refused: plan would
// read it through that role, which may be the one that changes devices.
// An account the manifests name no account for has no role from --role
// either: both plan and apply use the base credentials there.
func planReadRoles(ms []*manifest.Manifest, pf planFlags) (map[string]manifest.Role, error) {
	if pf.PlanRole == "" {
		return nil, nil
	}
	if pf.Role == "" {
		return nil, withHint(errors.New("--plan-role needs --role: it stands in, for plan's reads only, for the role --role's template gives each account, which the saved plan records for apply"),
			"give both: %s", planRoleHint)
	}
	rt, err := manifest.ParseRoleTemplate(pf.PlanRole)
	if err != nil {
		return nil, withHint(fmt.Errorf("--plan-role: %w", err), "give a role ARN with {{.Account}} for the account: %s", planRoleHint)
	}
	roles := map[string]manifest.Role{}
	var own []string
	for _, m := range ms {
		switch {
		case m.Role == nil:
			continue
		case !m.Role.FromTemplate():
			own = append(own, fmt.Sprintf("account %s (role %s at %s)", m.Account, view.Text(m.Role.ARN), view.Text(m.Role.Pos.String())))
			continue
		}
		arn, err := rt.Expand(m.Account)
		if err != nil {
			return nil, withHint(fmt.Errorf("--plan-role: %w", err), "give a role ARN with {{.Account}} for the account: %s", planRoleHint)
		}
		if arn == m.Role.ARN {
			return nil, withHint(fmt.Errorf("--plan-role makes role %s in account %s, the role --role gives, which apply assumes: plan would read through a role that changes devices", view.Text(arn), m.Account),
				"give --plan-role the read-only role's template, or drop it")
		}
		roles[m.Account] = manifest.Role{ARN: arn}
	}
	if len(own) > 0 {
		slices.Sort(own)
		return nil, withHint(fmt.Errorf("--plan-role stands in only for --role's template, and the manifests of %s name their own role:, which plan would read through", strings.Join(own, ", ")),
			"give those accounts their role with --role instead of role:, or plan them without --plan-role")
	}
	return roles, nil
}

// readRole is the role plan or apply reaches m's account through: the
// --plan-role's in plan (readRoles), otherwise the manifest's.
func (o planFlags) readRole(m *manifest.Manifest) *manifest.Role {
	if r, ok := o.readRoles[m.Account]; ok && m.Role != nil {
		return &r
	}
	return m.Role
}
