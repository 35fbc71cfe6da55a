package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mfabulk/mfabulk/internal/inputfile"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/pipeline"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/plan/planfile"
	"github.com/mfabulk/mfabulk/internal/store/stores"
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

// named reports whether the operator set a flag: on the command line or
// in its MFABULK_* variable, not in a config file, which can arrive with
// a checkout.
func named(cmd *cobra.Command, name string) bool {
	return cmd.Flags().Changed(name) || os.Getenv(envName(name)) != ""
}

// checkSavedInputs refuses, before any AWS call, a saved plan whose
// manifests, role template and options (--prune, --target, --replace:
// each changes what apply does) the operator did not name as the file
// holds them. Whoever wrote the file chose them; the operator's command
// line must repeat them. Without -f, on a terminal, the prompt shows them
// instead (approve).
func checkSavedInputs(opts *applyOpts, f planfile.File) error {
	cmdline := applyCommand(opts.SavedPlan, f)
	// The first setting a config file gave is enough to refuse.
	if len(opts.fromConfig) > 0 {
		name := opts.fromConfig[0]
		what := "options are"
		if name == "role" {
			what = "role is"
		}
		return withHint(fmt.Errorf("a saved plan's %s named with --%s on the command line or %s, not with %s: in a config file", what, name, envName(name), name),
			"remove %s: from the config file and name what the plan was made with: %s", name, cmdline)
	}
	var err error
	if opts.namedFiles {
		err = checkNamedManifests(opts.SavedPlan, f.Manifests, opts.Plan.Files)
	} else {
		err = refuseUnnamedSaved(opts, f)
	}
	if err != nil {
		return err
	}
	// The role decides which credentials act: a role template edited into
	// the file (its fingerprint is recomputable by whoever edits it) is
	// refused, not assumed.
	switch {
	case opts.Plan.Role != "" && opts.Plan.Role != f.RoleTemplate:
		return withHint(fmt.Errorf("--role %s differs from the saved plan's role template %s", view.Text(opts.Plan.Role), view.Text(f.RoleTemplate)), "run plan --out again with this --role, review it, then apply the new file")
	case opts.namedFiles && f.RoleTemplate != "" && opts.Plan.Role == "":
		return withHint(fmt.Errorf("saved plan %s assumes role template %s, which the command line does not name", view.Text(opts.SavedPlan), view.Text(f.RoleTemplate)),
			"name it as the plan was made: %s", cmdline)
	}
	given := opts.Plan.planOptions()
	if !opts.namedFiles && !given.Prune && !given.AllowDeactivate && len(given.Targets)+len(given.Replace) == 0 {
		return nil
	}
	if d := optionsDiff(f.Options, given); d != "" {
		return withHint(fmt.Errorf("saved plan %s was made %s; nothing was read or changed", view.Text(opts.SavedPlan), d),
			"name its options as the plan was made: %s", cmdline)
	}
	return nil
}

// optionsDiff says how the options given differ from a saved plan's, as
// sets ("" when they do not): "with --prune, which the command line does
// not name", "without --prune", "with --target a, not with --target b".
func optionsDiff(saved, given plan.Options) string {
	var d []string
	switch {
	case saved.Prune && !given.Prune:
		d = append(d, "with --prune, which the command line does not name")
	case !saved.Prune && given.Prune:
		d = append(d, "without --prune")
	}
	switch {
	case saved.AllowDeactivate && !given.AllowDeactivate:
		d = append(d, "with --allow-deactivate, which the command line does not name")
	case !saved.AllowDeactivate && given.AllowDeactivate:
		d = append(d, "without --allow-deactivate")
	}
	for _, o := range []struct {
		flag         string
		saved, given []string
	}{{"target", saved.Targets, given.Targets}, {"replace", saved.Replace, given.Replace}} {
		a, b := optionSet(o.saved), optionSet(o.given)
		switch {
		case slices.Equal(a, b):
		case len(b) == 0:
			d = append(d, fmt.Sprintf("with %s, which the command line does not name", flagList(o.flag, a)))
		case len(a) == 0:
			d = append(d, fmt.Sprintf("without --%s, not with %s", o.flag, flagList(o.flag, b)))
		default:
			d = append(d, fmt.Sprintf("with %s, not with %s", flagList(o.flag, a), flagList(o.flag, b)))
		}
	}
	return strings.Join(d, ", and ")
}

// optionFlags are a saved plan's options as apply's flags, "" for none.
func optionFlags(o plan.Options) string {
	var parts []string
	if o.Prune {
		parts = append(parts, "--prune")
	}
	if o.AllowDeactivate {
		parts = append(parts, "--allow-deactivate")
	}
	for _, f := range []struct {
		flag string
		vals []string
	}{{"target", o.Targets}, {"replace", o.Replace}} {
		if l := flagList(f.flag, optionSet(f.vals)); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, " ")
}

// applyCommand is the command that applies a saved plan: its manifests,
// role template and options, all of which apply must be given.
func applyCommand(file string, f planfile.File) string {
	s := fmt.Sprintf("mfabulk apply %s -f %s", shellQuote(file), shellList(f.Manifests))
	if f.RoleTemplate != "" {
		s += " --role " + shellQuote(f.RoleTemplate)
	}
	if o := optionFlags(f.Options); o != "" {
		s += " " + o
	}
	return s
}

func flagList(flag string, vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = "--" + flag + " " + shellQuote(v)
	}
	return strings.Join(q, " ")
}

// optionSet is ss sorted, each value once.
func optionSet(ss []string) []string { return slices.Compact(slices.Sorted(slices.Values(ss))) }

// refuseUnnamedSaved refuses, before any AWS call, what may never apply
// a saved plan whose manifests the operator did not name: no terminal to
// ask on, or --auto-approve.
func refuseUnnamedSaved(opts *applyOpts, f planfile.File) error {
	hint := "name the manifests it must be for: " + applyCommand(opts.SavedPlan, f)
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
		fmt.Fprintf(opts.IO.Out, "  %s\n", shellQuote(m))
	}
	if saved.RoleTemplate != "" {
		fmt.Fprintf(opts.IO.Out, "through role template %s\n", shellQuote(saved.RoleTemplate))
	}
	if o := optionFlags(saved.Options); o != "" {
		fmt.Fprintf(opts.IO.Out, "with options %s\n", o)
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
		cmd := fmt.Sprintf("mfabulk apply %s -f <its manifests>", view.Text(p))
		if f, err := planfile.Read(p); err == nil {
			cmd = applyCommand(p, f)
		}
		return withHint(fmt.Errorf("%s is a saved plan, not a manifest", view.Text(p)), "apply it with: %s", cmd)
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
		q[i] = shellQuote(s)
	}
	return strings.Join(q, " -f ")
}

// shellQuote writes s as one word of a POSIX shell command, for the
// commands mfabulk prints for a person to copy: a value from a saved plan
// (a manifest's path, the role template, a target) could otherwise carry
// "; id" or "$(…)" into the operator's shell, or split into two
// arguments. A word of only safe characters stays as it is; any other is
// single-quoted. Escaped for the terminal as every outside value: a
// control character then no longer matches the file's value, and apply
// refuses the plan rather than running something else.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
		return s
	}
	q := "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	if strings.IndexFunc(s, func(r rune) bool { return !strconv.IsPrint(r) }) >= 0 {
		return view.Text(q)
	}
	return q
}

// checkSaved refuses a saved plan as stale unless it is the plan computed
// now: the same fingerprint (everything it was computed from, by
// component, so that the error says what changed) and the same plan
// document, regenerated, so that what show-plan prints from the file is
// what apply does.
func checkSaved(ctx context.Context, st *stores.Set, f planfile.File, pl pipeline.Planned) error {
	if err := f.Check(pl.Fingerprint, pl.Components); err != nil {
		return staleError(err)
	}
	p := pl.Plan
	p.Notices = append(slices.Clip(p.Notices), localNotices(ctx, st, p)...) // as plan --out saved it
	if err := planfile.CheckDoc(f.Plan, view.JSONPlan(p, version)); err != nil {
		return staleError(err)
	}
	return nil
}
