package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mfabulk/mfabulk/internal/inputfile"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/pipeline"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/plan/planfile"
	"github.com/mfabulk/mfabulk/internal/view"
)

// A saved plan is not trusted: whoever could write plan.json (a pull
// request's artifact) could edit every field of it. So apply takes the
// manifests from the operator, who names them with -f, and the file must
// name exactly those; without -f a terminal shows the file's manifests and
// asks, and nothing else may apply it. The plan is then recomputed from
// them and refused as stale unless it is the plan the file holds, field for
// field (checkSaved).

// cleanPaths is how a saved plan stores its manifests and how apply
// compares them: as given, relative to the working folder (or absolute,
// when given so), cleaned, so that "./iam/mfa/" and "iam/mfa" are one. A
// relative path makes the saved plan work from any folder with the same
// layout, such as another checkout of the repository.
func cleanPaths(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.ToSlash(filepath.Clean(p))
	}
	return out
}

// checkNamedManifests refuses a saved plan that is not for exactly the
// manifests the operator named, before any AWS call.
func checkNamedManifests(path string, saved, named []string) error {
	a, b := slices.Sorted(slices.Values(cleanPaths(saved))), slices.Sorted(slices.Values(cleanPaths(named)))
	if slices.Equal(a, b) {
		return nil
	}
	return withHint(fmt.Errorf("saved plan %s is for manifests %s, not for the manifests given with -f: %s; nothing was read or changed",
		view.Text(path), quotedList(saved), quotedList(named)),
		"apply a plan made from the manifests you name (run plan -f … --out again), or check which manifests it was made from: mfabulk show-plan %s", view.Text(path))
}

// refuseUnnamedSaved refuses, before any AWS call, what may never apply
// a saved plan whose manifests the operator did not name: no terminal to
// ask on, or --auto-approve.
func refuseUnnamedSaved(opts *applyOpts, f planfile.File) error {
	hint := fmt.Sprintf("name the manifests it must be for: mfabulk apply %s -f %s", view.Text(opts.SavedPlan), shellList(f.Manifests))
	switch {
	case len(opts.Plan.Files) > 0:
		return withHint(errors.New("a saved plan's manifests are named with -f on the command line or MFABULK_FILE, not with file: in a config file"), "%s", hint)
	case opts.AutoApprove:
		return withHint(errors.New("--auto-approve applies a saved plan only with -f naming its manifests"), "%s", hint)
	case !opts.IO.InTTY:
		return withHint(errors.New("applying a saved plan without -f asks which manifests it is for, but standard input is not a terminal"), "%s", hint)
	}
	return nil
}

// approve is apply's confirmation: none for a saved plan whose manifests
// the operator named; for one they did not, the manifests it names, then
// the usual question.
func approve(ctx context.Context, opts *applyOpts, saved *planfile.File) error {
	switch {
	case saved == nil:
		return confirm(ctx, opts.IO, opts.AutoApprove)
	case len(opts.Plan.Files) > 0:
		return nil
	}
	fmt.Fprintf(opts.IO.Out, "\nSaved plan %s was made from, and is now computed from, these manifests:\n", view.Text(opts.SavedPlan))
	for _, m := range saved.Manifests {
		fmt.Fprintf(opts.IO.Out, "  %s\n", view.Text(m))
	}
	if saved.RoleTemplate != "" {
		fmt.Fprintf(opts.IO.Out, "through role template %s\n", view.Text(saved.RoleTemplate))
	}
	return confirm(ctx, opts.IO, false)
}

// staleError is a stale saved plan's error, what changed escaped (the
// names come from manifests and the file), errors.Is(…, ErrStale) intact.
func staleError(err error) error {
	var se *planfile.StaleError
	if errors.As(err, &se) {
		changes := make([]string, len(se.Changes))
		for i, c := range se.Changes {
			changes[i] = view.Text(c)
		}
		err = &planfile.StaleError{Changes: changes}
	}
	return withHint(err, "nothing was changed; run plan --out again, review it, then apply the new file")
}

// refuseSavedPlans answers a saved plan given where a manifest goes (-f
// plan.json) with what it is and the command that applies it, before the
// YAML parser reports its JSON as unknown fields. Only files are read,
// and only as much as a manifest may hold.
func refuseSavedPlans(files []string) error {
	for _, p := range files {
		data, err := inputfile.Read(p, manifest.MaxFileSize)
		if err != nil || !planfile.IsSavedPlan(data) {
			continue // a folder, a missing file…: the manifest loader says
		}
		its := "<its manifests>"
		if f, err := planfile.Read(p); err == nil {
			its = shellList(f.Manifests)
		}
		return withHint(fmt.Errorf("%s is a saved plan, not a manifest", view.Text(p)), "apply it with: mfabulk apply %s -f %s", view.Text(p), its)
	}
	return nil
}

// unfinished says why apply would refuse p or leave it unfinished, and so
// exit 1 without carrying it out whole ("" when it would not): a device
// in conflict, one in "! mismatch", an outfile folder apply refuses.
func unfinished(p plan.Plan) string {
	var why []string
	if n := p.Count(plan.Conflict); n > 0 {
		why = append(why, fmt.Sprintf("apply would refuse it: %d device(s) in conflict", n))
	}
	if n := p.Count(plan.Mismatch); n > 0 {
		why = append(why, fmt.Sprintf("apply would leave %d device(s) alone and exit 1: \"! mismatch\"", n))
	}
	local := 0
	for _, n := range p.Notices {
		if n.Local {
			local++
		}
	}
	if local > 0 {
		why = append(why, fmt.Sprintf("apply would refuse %d outfile folder(s) on this machine", local))
	}
	return strings.Join(why, "; ")
}

func quotedList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = view.Text(s)
	}
	return "[" + strings.Join(q, " ") + "]"
}

func shellList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = view.Text(s)
	}
	return strings.Join(q, " -f ")
}

// checkSaved refuses a saved plan as stale unless it is the plan computed
// now: the same fingerprint (everything it was computed from, by
// component, so that the error says what changed) and the same plan
// document, regenerated, so that what show-plan prints from the file is
// what apply does.
func checkSaved(f planfile.File, pl pipeline.Planned) error {
	if err := f.Check(pl.Fingerprint, pl.Components); err != nil {
		return staleError(err)
	}
	p := pl.Plan
	p.Notices = append(slices.Clip(p.Notices), localNotices(p)...) // as plan --out saved it
	if err := planfile.CheckDoc(f.Plan, view.JSONPlan(p, version)); err != nil {
		return staleError(err)
	}
	return nil
}
