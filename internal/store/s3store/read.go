package s3store

import (
	"context"
	"crypto/subtle"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/store"
)

// readers bounds the GETs a plan has in flight.
const readers = 16

// maxListed bounds the keys a plan lists under the prefix (a thousand
// LISTs): a store holds a few keys a device, and a prefix flooded by
// another principal must not make plan list, and wait, without end.
var maxListed = 1_000_000

// list returns the keys under the prefix that keep wants: one
// ListObjectsV2 per 1,000 keys, at most maxListed keys in all.
func (b *Backend) list(ctx context.Context, keep func(key string) bool) (map[string]bool, error) {
	opt, err := b.locate(ctx)
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	listed := 0
	p := s3.NewListObjectsV2Paginator(b.api, &s3.ListObjectsV2Input{Bucket: aws.String(b.st.Bucket), Prefix: aws.String(b.st.Prefix), MaxKeys: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx, opt)
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", b.url(), err)
		}
		if listed += len(page.Contents); listed > maxListed {
			return nil, fmt.Errorf("listing %s: there are more than %d keys under the prefix, far more than mfabulk's devices need; remove what is not mfabulk's (or old NAME.replaced-STAMP outfiles), or give the store a prefix of its own", b.url(), maxListed)
		}
		for _, o := range page.Contents {
			if k := aws.ToString(o.Key); keep(k) {
				keys[k] = true
			}
		}
	}
	return keys, nil
}

// Read reads every device's evidence: one listing of the prefix, then
// only the objects that are there, read through a bounded pool. A record
// is trusted as journal.ReadRecord trusts one (small, well formed), and
// proven only when it proves its create ID and is bound to the outfile's
// bytes as they are now; an intent is Foreign when it is malformed, too
// large or names anything else, Busy while its lease is live.
func (b *Backend) Read(ctx context.Context, account string, devices []manifest.Device) (map[string]store.Evidence, error) {
	objs := make([]obj, len(devices))
	for i, d := range devices {
		o, err := b.object(d.Outfile)
		if err != nil {
			return nil, fmt.Errorf("reading the files of device %q: %w", d.Name, err)
		}
		objs[i] = o
	}
	wanted := make(map[string]bool, 3*len(objs))
	for _, o := range objs {
		wanted[o.key], wanted[o.record()], wanted[o.intent()] = true, true, true
	}
	keys, err := b.list(ctx, func(k string) bool { return wanted[k] })
	if err != nil {
		return nil, err
	}
	out := make(map[string]store.Evidence, len(devices))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(readers)
	for i, d := range devices {
		o := objs[i]
		_, outfile := keys[o.key]
		_, record := keys[o.record()]
		_, intent := keys[o.intent()]
		if !record && !intent {
			mu.Lock() // readers already started write out too
			out[d.Name] = store.Evidence{Outfile: outfile}
			mu.Unlock()
			continue
		}
		want := journal.Key{Account: account, Device: d.Name, Path: d.Path}
		g.Go(func() error {
			ev, err := b.evidence(gctx, o, outfile, record, intent, want)
			if err != nil {
				return fmt.Errorf("reading the files of device %q: %w", d.Name, err)
			}
			mu.Lock()
			out[d.Name] = ev
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

func (b *Backend) evidence(ctx context.Context, o obj, outfile, record, intent bool, want journal.Key) (store.Evidence, error) {
	ev := store.Evidence{Outfile: outfile}
	if record {
		g, err := b.get(ctx, o.record(), journal.MaxIntentSize)
		if err != nil {
			return ev, err
		}
		ev.Record = parseRecord(g)
	}
	if r := ev.Record; r != nil && outfile && journal.Proves(r.Proof, r.CreateID) && r.OutfileSHA256 != "" {
		g, err := b.get(ctx, o.key, journal.MaxOutfileSize)
		if err != nil {
			return ev, err
		}
		ev.Proven = g.found && !g.tooLarge && subtle.ConstantTimeCompare([]byte(sha256Hex(g.data)), []byte(r.OutfileSHA256)) == 1
		if g.found && !g.tooLarge {
			ev.OutfileSHA256 = sha256Hex(g.data)
		}
	}
	if intent {
		g, err := b.get(ctx, o.intent(), journal.MaxIntentSize)
		if err != nil {
			return ev, err
		}
		ev.Intent, ev.IntentVersion = b.status(g, want), g.etag
	}
	if in := ev.Intent.Intent; outfile && ev.OutfileSHA256 == "" && ev.Intent.State == journal.Pending && in != nil && in.Action == "reseal" {
		// Which outfile is there tells whether the re-seal replaced it.
		g, err := b.get(ctx, o.key, journal.MaxOutfileSize)
		if err != nil {
			return ev, err
		}
		if g.found && !g.tooLarge {
			ev.OutfileSHA256 = sha256Hex(g.data)
		}
	}
	return ev, nil
}

// status is what an intent object means to a plan (journal.Inspect's
// states).
func (b *Backend) status(g got, want journal.Key) journal.Status {
	if !g.found {
		return journal.Status{State: journal.None}
	}
	in, err := parseIntent(g)
	if err != nil {
		return journal.Status{State: journal.Foreign, Reason: err.Error()}
	}
	if in.Key() != want {
		return journal.Status{State: journal.Foreign, Intent: &in.Intent, Reason: fmt.Sprintf("it names device %q at %q in account %q", in.Device, in.Path, in.Account)}
	}
	if b.live(in, g) {
		return journal.Status{State: journal.Busy, Intent: &in.Intent}
	}
	return journal.Status{State: journal.Pending, Intent: &in.Intent}
}

// Owned returns, by serial, the files of every device of account whose
// record is in one of the "folders" (key prefixes) of devices' outfiles,
// as the folder's prune sees its folders. Unlike a folder, a bucket may be
// written by other principals: prune moves aside the outfile a record
// names, so only a record that proves its create ID and is bound to the
// outfile beside it counts (a planted one would move a live device's).
func (b *Backend) Owned(ctx context.Context, account string, devices []manifest.Device) (map[string]store.Files, error) {
	dirs := map[string]bool{}
	for _, d := range devices {
		o, err := b.object(d.Outfile)
		if err != nil {
			return nil, fmt.Errorf("reading the files of device %q: %w", d.Name, err)
		}
		dirs[o.dir()] = true
	}
	keys, err := b.list(ctx, func(key string) bool {
		dir, base := path.Split(key)
		name, ok := strings.CutSuffix(strings.TrimPrefix(base, "."), ".id")
		return ok && strings.HasPrefix(base, ".") && name != "" && dirs[dir]
	})
	if err != nil {
		return nil, err
	}
	recs := slices.Collect(maps.Keys(keys))
	slices.Sort(recs)
	found := make([]*journal.Record, len(recs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(readers)
	for i, key := range recs {
		g.Go(func() error {
			got, err := b.get(gctx, key, journal.MaxIntentSize)
			if err != nil {
				return fmt.Errorf("looking up the device of record %s: %w", "s3://"+b.st.Bucket+"/"+key, err)
			}
			r := parseRecord(got)
			if r == nil || r.Account != account || !journal.Proves(r.Proof, r.CreateID) || r.OutfileSHA256 == "" {
				return nil
			}
			dir, base := path.Split(key)
			out, err := b.get(gctx, dir+strings.TrimSuffix(base[1:], ".id"), journal.MaxOutfileSize)
			if err != nil {
				return fmt.Errorf("looking up the device of record %s: %w", "s3://"+b.st.Bucket+"/"+key, err)
			}
			if out.found && !out.tooLarge && subtle.ConstantTimeCompare([]byte(sha256Hex(out.data)), []byte(r.OutfileSHA256)) == 1 {
				found[i] = r
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	// In key order, as the folder reads its names: of two records naming
	// one serial, the same one wins every time.
	out := map[string]store.Files{}
	for i, key := range recs {
		if r := found[i]; r != nil && r.Account == account {
			dir, base := path.Split(key)
			name := strings.TrimSuffix(strings.TrimPrefix(base, "."), ".id")
			out[r.Serial] = &files{b: b, o: obj{bucket: b.st.Bucket, key: dir + name}}
		}
	}
	return out, nil
}
