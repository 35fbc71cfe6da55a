package main

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/mfabulk/mfabulk/internal/plan/planfile"
)

// cmdForgePlan edits a saved plan as its attacker can, then recomputes
// its fingerprint with planfile.Fingerprint (the fingerprint is no
// signature: whoever writes the file can recompute it):
//
//	forgeplan FILE EDIT…
//
// where each EDIT is one of
//
//	manifests A,B,…   the manifests it names
//	rename K1 K2      a component renamed
//	set K V           a component set (K and V Go-unquoted: \x1b works)
//	role R            its role template
//	prune             options.prune on
//	copydoc FILE2     FILE2's plan document in place of its own
//	keepfp            leave the fingerprint as it is (the components edited alone)
func cmdForgePlan(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: forgeplan FILE EDIT…")
	}
	path := ts.MkAbs(args[0])
	data, err := os.ReadFile(path)
	ts.Check(err)
	var f planfile.File
	ts.Check(json.Unmarshal(data, &f))
	unquote := func(s string) string {
		u, err := strconv.Unquote(`"` + s + `"`)
		ts.Check(err)
		return u
	}
	keep := false
	for args = args[1:]; len(args) > 0; {
		switch {
		case args[0] == "manifests" && len(args) >= 2:
			f.Manifests, args = strings.Split(args[1], ","), args[2:]
		case args[0] == "rename" && len(args) >= 3:
			v := f.Components[args[1]]
			delete(f.Components, args[1])
			f.Components[args[2]], args = v, args[3:]
		case args[0] == "set" && len(args) >= 3:
			f.Components[unquote(args[1])], args = unquote(args[2]), args[3:]
		case args[0] == "role" && len(args) >= 2:
			f.RoleTemplate, args = args[1], args[2:]
		case args[0] == "prune":
			f.Options.Prune, args = true, args[1:]
		case args[0] == "copydoc" && len(args) >= 2:
			var g planfile.File
			d, err := os.ReadFile(ts.MkAbs(args[1]))
			ts.Check(err)
			ts.Check(json.Unmarshal(d, &g))
			f.Plan, args = g.Plan, args[2:]
		case args[0] == "keepfp":
			keep, args = true, args[1:]
		default:
			ts.Fatalf("forgeplan: bad edit %q", args)
		}
	}
	if !keep {
		f.Fingerprint = planfile.Fingerprint(f.Components)
	}
	b, err := json.MarshalIndent(f, "", "  ")
	ts.Check(err)
	ts.Check(os.WriteFile(path, append(b, '\n'), 0o644))
}
