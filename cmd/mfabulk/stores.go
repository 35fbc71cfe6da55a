package main

import (
	"context"
	"fmt"

	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/store/stores"
)

// openStores returns the stores of a command's manifests, each opened on
// first use: the folders next to the manifests; S3 stores are not wired
// yet (a device in one is refused, naming its store).
func openStores() *stores.Set { return stores.New(stores.Options{}) }

// closeStores closes st at the end of a command whose error is *err,
// reporting a failure to close when the command has none of its own.
func closeStores(st *stores.Set, err *error) {
	if cerr := st.Close(); cerr != nil && *err == nil {
		*err = fmt.Errorf("closing the stores: %w", cerr)
	}
}

// localNotices finds, without changing anything, what apply's preflight
// of the stores will refuse (store.Backend.Check without write): in a
// folder, unsafe ones (the same check, atomicfile.OpenDir) and ones this
// user cannot write to, a folder that does not exist yet judged by its
// nearest existing parent, in which apply will create it.
func localNotices(ctx context.Context, st *stores.Set, p plan.Plan) []plan.Notice {
	var devices []manifest.Device
	byName := map[string]manifest.Store{}
	for _, c := range p.Changes {
		if c.Reviewed() {
			devices = append(devices, *c.Desired)
			byName[c.Desired.Name] = c.Desired.Store
		}
	}
	var out []plan.Notice
	for _, pr := range st.Check(ctx, devices, false) {
		s := byName[pr.Device]
		n := plan.Notice{Device: pr.Device, Local: !pr.Warning}
		switch {
		case pr.Warning:
			n.Message = fmt.Sprintf("store %s: %v", s.URL, pr.Err)
		case s.IsFolder():
			n.Message = fmt.Sprintf("apply will refuse its outfile folder (and every device writing there): %v", pr.Err)
		default:
			n.Message = fmt.Sprintf("apply will refuse its store %s (and every device in it): %v", s.URL, pr.Err)
		}
		out = append(out, n)
	}
	return out
}
