package view

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
)

// storeUse is one store the reviewed changes write new secrets to, and
// how many of them write there.
type storeUse struct {
	store   manifest.Store
	devices int
}

// reviewedStores are the distinct stores (URL and KMS key) the reviewed
// changes (create, replace, assign) write their outfiles to, the fewest
// devices first (then in plan order), or nil when every one of them is
// kept in the folder beside its manifest. Where the secrets go is read
// from the manifest a pull request may change: a store: moved to another
// bucket, prefix or KMS key must show in the head of a plan, where
// padding changes cannot push it out of sight, as the recipients do.
func reviewedStores(p plan.Plan) []storeUse {
	return storesOf(p, plan.Change.Reviewed)
}

// keptStores are the distinct stores of every device of the manifests,
// changed or not, as reviewedStores orders them, or nil when every one is
// kept in the folder beside its manifest.
func keptStores(p plan.Plan) []storeUse {
	return storesOf(p, func(plan.Change) bool { return true })
}

func storesOf(p plan.Plan, include func(plan.Change) bool) []storeUse {
	var uses []storeUse
	type key struct{ url, kms string } // a plan read from JSON has no Bucket or Prefix
	index := map[key]int{}
	s3 := false
	for _, c := range p.Changes {
		if !include(c) || c.Desired == nil {
			continue
		}
		s := c.Desired.Store
		s3 = s3 || !s.IsFolder()
		i, ok := index[key{s.URL, s.KMSKeyID}]
		if !ok {
			i = len(uses)
			index[key{s.URL, s.KMSKeyID}] = i
			uses = append(uses, storeUse{store: s})
		}
		uses[i].devices++
	}
	if !s3 {
		return nil
	}
	slices.SortStableFunc(uses, func(a, b storeUse) int { return a.devices - b.devices })
	return uses
}

// storeText names a store for the text views, escaped and clipped.
func storeText(s manifest.Store) string {
	if s.IsFolder() {
		return "the folder beside the manifest"
	}
	t := value(s.URL)
	if s.KMSKeyID != "" {
		t += " (SSE-KMS key " + value(s.KMSKeyID) + ")"
	}
	return t
}

// storeMarkdown names a store for the Markdown views, each value a code
// span of its own.
func storeMarkdown(s manifest.Store) string {
	if s.IsFolder() {
		return "the folder beside the manifest"
	}
	t := mdCode(clip(s.URL, maxHeadValue))
	if s.KMSKeyID != "" {
		t += " (SSE-KMS key " + mdCode(clip(s.KMSKeyID, maxHeadValue)) + ")"
	}
	return t
}

// writeStoresText writes the text plan's line saying where the new
// secrets are written, when any is written to an S3 store.
func writeStoresText(w io.Writer, p plan.Plan) {
	uses := reviewedStores(p)
	switch len(uses) {
	case 0:
		return
	case 1:
		fmt.Fprintf(w, "Stored in: %s (every new secret)\n", storeText(uses[0].store))
		return
	}
	fmt.Fprintf(w, "Stored in (%d different stores, the fewest devices first):\n", len(uses))
	for _, u := range uses {
		fmt.Fprintf(w, "  %d device(s): %s\n", u.devices, storeText(u.store))
	}
}

// mdStores writes, in the head of a Markdown plan, where the new secrets
// are written, when any is written to an S3 store, at most maxListed
// stores; it returns how many it leaves out.
//
// A plan with no new secret still names the stores its devices are kept
// in: a pull request that moves store: to a bucket already holding copies
// of every outfile and record plans "no changes", and every later run,
// the unreviewed nightly's included, writes there.
func mdStores(b *strings.Builder, p plan.Plan) int {
	uses, one, many := reviewedStores(p), "where every new secret is written", "where the new secrets are written"
	if uses == nil {
		uses, one, many = keptStores(p), "where every device's outfile, record and intent are kept", "where the devices' outfiles, records and intents are kept"
	}
	switch len(uses) {
	case 0:
		return 0
	case 1:
		fmt.Fprintf(b, "\n**Stored in** (%s): %s\n", one, storeMarkdown(uses[0].store))
		return 0
	}
	fmt.Fprintf(b, "\n**Stored in** (%s: %d different stores, the fewest devices first):\n\n", many, len(uses))
	for i, u := range uses {
		if i == maxListed {
			fmt.Fprintf(b, "- … and %d more store(s); see `mfabulk show-plan plan.json`\n", len(uses)-i)
			return len(uses) - i
		}
		fmt.Fprintf(b, "- %d device(s): %s\n", u.devices, storeMarkdown(u.store))
	}
	return 0
}
