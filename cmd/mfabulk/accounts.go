package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"filippo.io/age"
	"github.com/mfabulk/mfabulk/internal/apply"
	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/pipeline"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/plan/planfile"
	"github.com/mfabulk/mfabulk/internal/store/stores"
	"github.com/mfabulk/mfabulk/internal/view"
)

// loadManifests reads the manifests grouped by account, with the role
// template of --role (or role: in the config), and checks the --target
// and --replace names against them: every problem before any AWS call.
func loadManifests(streams IO, files []string, pf planFlags, po plan.Options) ([]*manifest.Manifest, error) {
	var lo manifest.LoadOptions
	if pf.Role != "" {
		rt, err := manifest.ParseRoleTemplate(pf.Role)
		if err != nil {
			return nil, withHint(fmt.Errorf("--role: %w", err), "give a role ARN with {{.Account}} for the account, such as arn:aws:iam::{{.Account}}:role/mfabulk")
		}
		lo.RoleTemplate = rt
	}
	if err := refuseSavedPlans(files); err != nil {
		return nil, err
	}
	ms, err := pipeline.Load(files, lo)
	if err != nil {
		return nil, manifestError(err, streams)
	}
	if err := pipeline.CheckNames(ms, po); err != nil {
		return nil, withHint(err, "name a device as NAME, or as ACCOUNT/NAME for one account's")
	}
	if len(ms) == 1 {
		// One account: a target may still say its account.
		for _, n := range append(append([]string{}, po.Targets...), po.Replace...) {
			if a, _, ok := strings.Cut(n, "/"); ok && ms[0].Account == "" {
				return nil, withHint(fmt.Errorf("--target or --replace %s names account %s, but the manifests say no account", n, a), "drop the ACCOUNT/ prefix, or add account: to the manifests")
			}
		}
	}
	return ms, nil
}

// connect returns the client of one account: the base client, or one
// that assumes role (the manifest's, or plan's --plan-role: planFlags.readRole)
// from it (its own client, credentials cache and, through them, its own
// pace), having assumed it once so that a refused role fails the account
// before any IAM call.
func connect(ctx context.Context, base *iamclient.Client, role *manifest.Role) (*iamclient.Client, error) {
	if role == nil {
		return base, nil
	}
	c := base.WithRole(iamclient.Role{ARN: role.ARN, ExternalID: role.ExternalID, SessionName: role.SessionName, Duration: role.Duration})
	if err := c.AssumeRole(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// accountRun is one account's part of a run over several accounts.
type accountRun struct {
	view.AccountPlan
	m      *manifest.Manifest
	client *iamclient.Client
	pl     pipeline.Planned
	res    *apply.Result
}

// planAccounts refreshes and plans every account on its own, at most
// parallelism accounts at once; an account that fails (its role refused,
// its refresh failing) is marked and the others go on.
func planAccounts(ctx context.Context, streams IO, aws awsOptions, ms []*manifest.Manifest, po plan.Options, pf planFlags, st *stores.Set) ([]*accountRun, error) {
	base, err := iamclient.New(ctx, pf.paced(aws.client(streams.Err)))
	if err != nil {
		return nil, err
	}
	runs := make([]*accountRun, len(ms))
	for i, m := range ms {
		runs[i] = &accountRun{m: m, AccountPlan: view.AccountPlan{Account: m.Account}}
		if m.Role != nil {
			runs[i].Role = m.Role.ARN
		}
	}
	eachAccount(runs, pf.AccountsParallelism, func(r *accountRun) {
		has := func(name string) bool {
			for _, d := range r.m.Devices {
				if strings.EqualFold(d.Name, name) {
					return true
				}
			}
			return false
		}
		apo, skip := pipeline.ForAccount(r.Account, po, has)
		if skip {
			r.Skipped = true
			return
		}
		c, err := connect(ctx, base, pf.readRole(r.m))
		if err != nil {
			r.Err = err
			return
		}
		r.client = c
		pl, err := pipeline.PlanManifest(ctx, pipeline.Options{Plan: apo, Parallelism: pf.Parallelism, ToolVersion: version,
			RoleTemplate: pf.Role, WorkDir: workDir(), TagsUnsupported: iamclient.TagsUnsupported, Store: st}, r.m, c)
		if err != nil {
			r.Err = err
			return
		}
		pl.Plan.Notices = append(pl.Plan.Notices, localNotices(ctx, st, pl.Plan)...)
		r.pl, r.Plan = pl, &pl.Plan
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return runs, nil
}

// eachAccount calls f for every run, at most n at once.
func eachAccount(runs []*accountRun, n int, f func(*accountRun)) {
	sem := make(chan struct{}, max(1, n))
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(r)
		}()
	}
	wg.Wait()
}

func accountPlans(runs []*accountRun) []view.AccountPlan {
	out := make([]view.AccountPlan, len(runs))
	for i, r := range runs {
		out[i] = r.AccountPlan
	}
	return out
}

// planAccountsRun is plan over several accounts.
func planAccountsRun(ctx context.Context, opts *planOpts, v view.Plan, ms []*manifest.Manifest, st *stores.Set) error {
	runs, err := planAccounts(ctx, opts.IO, opts.AWS, ms, opts.Plan.planOptions(), opts.Plan, st)
	if err != nil {
		return err
	}
	saveErr := error(nil)
	if opts.Out != "" {
		saveErr = saveAccounts(opts, ms, runs)
	}
	changes, failed := false, false
	var unfinishedIn []string
	for _, r := range runs {
		failed = failed || r.Err != nil
		if r.Plan != nil {
			changes = changes || r.Plan.HasChanges() || len(r.Plan.Notices) > 0
			if why := unfinished(*r.Plan); why != "" {
				unfinishedIn = append(unfinishedIn, fmt.Sprintf("account %s: %s", r.Account, why))
			}
		}
	}
	if !opts.Plan.Quiet || changes || failed {
		if err := v.Plans(accountPlans(runs)); err != nil {
			return err
		}
	}
	if opts.Out != "" && saveErr == nil {
		sf := planfile.File{Manifests: cleanPaths(opts.Plan.Files), RoleTemplate: opts.Plan.Role, Options: opts.Plan.planOptions()}
		fmt.Fprintf(opts.IO.Err, "Saved the plan of %d accounts to %s; apply it with: %s\n", len(runs), view.Text(opts.Out), applyCommand(opts.Out, sf))
	}
	switch {
	case saveErr != nil:
		return saveErr
	case failed:
		return exitCodeError{exitError}
	case opts.DetailedExitcode && len(unfinishedIn) > 0:
		fmt.Fprintf(opts.IO.Err, "mfabulk: plan: exit 1: %s\n", strings.Join(unfinishedIn, "; "))
		return exitCodeError{exitError}
	case opts.DetailedExitcode && changes:
		return exitCodeError{exitChanges}
	}
	return nil
}

// saveAccounts writes the plan of several accounts for a later apply,
// unless an account failed: a saved plan covers every account.
func saveAccounts(opts *planOpts, ms []*manifest.Manifest, runs []*accountRun) error {
	var failed []string
	for _, r := range runs {
		if r.Err != nil {
			failed = append(failed, r.Account)
		}
	}
	if len(failed) > 0 {
		return withHint(fmt.Errorf("the plan was not saved to %s: account(s) %s failed", opts.Out, strings.Join(failed, ", ")), "fix them (see each account's error above) and plan again")
	}
	doc := view.JSONPlans(accountPlans(runs), version)
	f := planfile.File{Options: opts.Plan.planOptions(), RoleTemplate: opts.Plan.Role, AccountFingerprints: fingerprints(runs),
		AccountComponents: components(runs), Accounts: &doc, Manifests: cleanPaths(opts.Plan.Files)}
	f.Fingerprint = planfile.AccountsFingerprint(f.AccountFingerprints)
	if err := planfile.Write(opts.Out, f); err != nil {
		return fmt.Errorf("saving the plan to %s: %w", opts.Out, err)
	}
	return nil
}

// components are the accounts' fingerprinted components, none for one
// not targeted.
func components(runs []*accountRun) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, r := range runs {
		out[r.Account] = r.pl.Components
	}
	return out
}

// fingerprints are the accounts' fingerprints, "" for one not targeted.
func fingerprints(runs []*accountRun) map[string]string {
	out := map[string]string{}
	for _, r := range runs {
		out[r.Account] = r.pl.Fingerprint
	}
	return out
}

// applyAccountsRun is apply over several accounts: every account planned,
// the plans shown and confirmed once, then each account applied on its
// own, concurrently. An account that failed to plan, or whose plan apply
// refuses, is left out; the others go on. One progress bar counts every
// account's changes.
func applyAccountsRun(ctx context.Context, opts *applyOpts, v view.Apply, ms []*manifest.Manifest, po plan.Options, saved *planfile.File, st *stores.Set, ids []age.Identity) error {
	if opts.Report != "" || opts.Output == "json" {
		return withHint(errors.New("--report and --output json record one account's apply, and the manifests are for several"), "apply each account's manifests in a run of its own for its record (a CI matrix: see README)")
	}
	runs, err := planAccounts(ctx, opts.IO, opts.AWS, ms, po, opts.Plan, st)
	if err != nil {
		return err
	}
	if saved != nil {
		// A saved plan is applied whole or not at all.
		for _, r := range runs {
			if r.Err != nil {
				return withHint(fmt.Errorf("account %s: %w", r.Account, r.Err), "nothing was changed; fix it, then run plan --out again")
			}
		}
		if err := saved.CheckAccounts(fingerprints(runs), components(runs)); err != nil {
			return staleError(err)
		}
		// What show-plan prints from the file is what apply does.
		if err := planfile.CheckDoc(saved.Accounts, view.JSONPlans(accountPlans(runs), version)); err != nil {
			return staleError(err)
		}
	}
	quiet := opts.Plan.Quiet
	for _, r := range runs {
		quiet = quiet && r.Err == nil && (r.Plan == nil || !r.Plan.HasChanges() && len(r.Plan.Notices) == 0)
	}
	if !quiet {
		v.Plans(accountPlans(runs))
	}
	pending, work, resealsLeft := 0, false, 0
	for _, r := range runs {
		if r.Plan == nil || !r.Plan.HasChanges() {
			continue
		}
		if err := r.Plan.Applyable(); err != nil {
			r.Err = fmt.Errorf("plan refused: %w", err)
			continue
		}
		n := r.Plan.Pending()
		if len(ids) == 0 {
			resealsLeft += r.Plan.Count(plan.Reseal)
			if n -= r.Plan.Count(plan.Reseal); n == 0 && view.InProgress(*r.Plan) == 0 {
				continue // only re-seals, left pending: nothing to ask about
			}
		}
		pending += n
		work = true
	}
	if work {
		if err := approve(ctx, opts, saved); err != nil {
			return err
		}
		progress := v.Progress(pending)
		var mu sync.Mutex // apply.Run calls OnEvent from one goroutine at a time; here, several runs
		event := func(e apply.Event) { mu.Lock(); progress.Event(e); mu.Unlock() }
		stop, endSoft := opts.IO.Interrupts.softPhase(func() { progress.Interrupted(opts.IO.Err) })
		eachAccount(runs, opts.Plan.AccountsParallelism, func(r *accountRun) {
			if r.Err != nil || r.Plan == nil || !r.Plan.HasChanges() {
				return
			}
			if len(ids) == 0 && r.Plan.Pending() == r.Plan.Count(plan.Reseal) && view.InProgress(*r.Plan) == 0 {
				return
			}
			res, err := apply.Run(ctx, r.client, *r.Plan, apply.Options{Parallelism: opts.Plan.Parallelism, OnEvent: event, Stop: stop, Store: st, Identities: ids})
			if err != nil {
				r.Err = err
				return
			}
			r.res = &res
		})
		endSoft()
		progress.Done()
	}
	results := make([]view.AccountResult, len(runs))
	failed, interrupted := false, false
	for i, r := range runs {
		results[i] = view.AccountResult{AccountPlan: r.AccountPlan, Result: r.res}
		failed = failed || r.Err != nil || (r.res != nil && len(r.res.Failed()) > 0)
		interrupted = interrupted || (r.res != nil && r.res.Interrupted)
	}
	if !quiet || work {
		v.Summaries(results)
	}
	if resealsLeft > 0 {
		fmt.Fprintln(opts.IO.Err, view.ResealsPending(resealsLeft))
	}
	switch {
	case interrupted:
		return exitCodeError{exitInterrupted}
	case failed:
		return exitCodeError{exitError}
	}
	return nil
}
