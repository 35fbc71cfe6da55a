package s3store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/store"
)

func recordJSON(t *testing.T, r journal.Record) []byte {
	t.Helper()
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Objects planted in the bucket by another principal are flagged, never
// trusted or acted on.
func TestHostileBucketContents(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	b := open(t, bucket, Options{})
	names := []string{"planted", "forged", "rebound", "proven", "malformed", "huge", "other"}
	var devices []manifest.Device
	for _, n := range names {
		devices = append(devices, device(bucket, n))
	}
	key := func(n, suffix string) string { return "mfa/out/" + n + ".png.age" + suffix }
	rec := func(n string) journal.Record {
		id, proof := journal.NewCreateID()
		return journal.Record{Account: account, Device: n, Path: "/", Serial: "arn:aws:iam::" + account + ":mfa/" + n, CreateID: id, Proof: proof, Created: time.Now().UTC(), OutfileSHA256: sha256Hex([]byte("ct " + n))}
	}
	dotKey := func(n, suffix string) string { return "mfa/out/." + n + ".png.age" + suffix }

	// An object planted at an outfile key.
	raw(t, bucket, key("planted", ""), []byte("planted"))
	// A record made from the device's public tag: no proof.
	for _, n := range []string{"forged", "rebound", "proven"} {
		raw(t, bucket, key(n, ""), []byte("ct "+n))
	}
	r := rec("forged")
	r.Proof = ""
	raw(t, bucket, dotKey("forged", ".id"), recordJSON(t, r))
	// A record with its proof, bound to other bytes (copied beside
	// another outfile, or the outfile overwritten since).
	r = rec("rebound")
	r.OutfileSHA256 = sha256Hex([]byte("other bytes"))
	raw(t, bucket, dotKey("rebound", ".id"), recordJSON(t, r))
	raw(t, bucket, dotKey("proven", ".id"), recordJSON(t, rec("proven")))
	// Intents: malformed, too large, another device's.
	raw(t, bucket, dotKey("malformed", ".intent"), []byte("{not json"))
	raw(t, bucket, dotKey("huge", ".intent"), bytes.Repeat([]byte(" "), journal.MaxIntentSize+1))
	other := intentOf(device(bucket, "someone-else"))
	other.Outfile = devices[6].Outfile
	data, _ := json.Marshal(leased{Intent: other})
	raw(t, bucket, dotKey("other", ".intent"), data)

	ev, err := b.Read(ctx, account, devices)
	if err != nil {
		t.Fatal(err)
	}
	if e := ev["planted"]; !e.Outfile || e.Record != nil || e.Proven {
		t.Errorf("planted = %+v", e)
	}
	if e := ev["forged"]; e.Record == nil || e.Proven {
		t.Errorf("forged record = %+v, want read and not proven", e)
	}
	if e := ev["rebound"]; e.Record == nil || e.Proven {
		t.Errorf("record bound to other bytes = %+v, want not proven", e)
	}
	if e := ev["proven"]; !e.Proven {
		t.Errorf("a true record = %+v, want proven", e)
	}
	for _, n := range []string{"malformed", "huge", "other"} {
		if e := ev[n]; e.Intent.State != journal.Foreign || e.Intent.Reason == "" || e.IntentVersion == "" {
			t.Errorf("%s intent = %+v, want Foreign with a reason", n, e)
		}
	}
	if !strings.Contains(ev["other"].Intent.Reason, "someone-else") || !strings.Contains(ev["huge"].Intent.Reason, "larger") {
		t.Errorf("reasons: %q, %q", ev["other"].Intent.Reason, ev["huge"].Intent.Reason)
	}
	// An outfile overwritten by another principal: the record is no
	// longer bound to it.
	raw(t, bucket, key("proven", ""), []byte("overwritten"))
	if ev, _ := b.Read(ctx, account, devices[3:4]); ev["proven"].Proven {
		t.Error("an overwritten outfile is still proven")
	}

	// Never acted on: the planted outfile is not overwritten, another
	// device's intent not taken.
	f := filesOf(t, b, devices[0])
	if ok, err := f.Exists(ctx); !ok || err != nil {
		t.Errorf("Exists at a planted object = %v, %v", ok, err)
	}
	h, err := f.Begin(ctx, intentOf(devices[0]), store.Seen{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.WriteOutfile(ctx, []byte("mine")); !errors.Is(err, store.ErrExists) {
		t.Errorf("WriteOutfile over a planted object = %v, want ErrExists", err)
	}
	h.Done(ctx)
	_, err = filesOf(t, b, devices[6]).Begin(ctx, intentOf(devices[6]), store.Seen{Version: ev["other"].IntentVersion})
	mustContain(t, err, "belongs to device \"someone-else\"")
	// A malformed object at an intent's key is no intent (plan saw none):
	// replaced, but only as the plan read it.
	if _, err := filesOf(t, b, devices[4]).Begin(ctx, intentOf(devices[4]), store.Seen{Version: `"0123"`}); !errors.Is(err, store.ErrChanged) {
		t.Errorf("Begin over a malformed intent rewritten since plan = %v, want ErrChanged", err)
	}
	h, err = filesOf(t, b, devices[4]).Begin(ctx, intentOf(devices[4]), store.Seen{Version: ev["malformed"].IntentVersion})
	if err != nil {
		t.Fatalf("Begin over the malformed intent plan saw = %v", err)
	}
	h.Keep(ctx)
}

// An object that is no intent, planted at a device's intent key after
// its plan saw none, is not replaced: the plan never reported it.
func TestBeginKeepsAnObjectThePlanDidNotSee(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	b := open(t, bucket, Options{})
	d := device(bucket, "mallory")
	raw(t, bucket, "mfa/out/.mallory.png.age.intent", []byte("{not json"))
	if _, err := filesOf(t, b, d).Begin(ctx, intentOf(d), store.Seen{}); !errors.Is(err, store.ErrChanged) {
		t.Fatalf("Begin over an object the plan did not see = %v, want ErrChanged", err)
	}
	if data, _ := rawGet(t, bucket, "mfa/out/.mallory.png.age.intent"); string(data) != "{not json" {
		t.Fatalf("the object was replaced by %q", data)
	}
}

// A run killed after IAM's create and before its outfile leaves an
// intent; the next run records the outfile it finds there only if the
// intent's run wrote it. An object another principal put at the key is
// not bound to the device by a record: that would prove a seed the
// device never had, and the next plan would stop saying it was lost.
func TestSettleRecordsOnlyTheIntentsOutfile(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t, bucketOpt{})
	const lease = 300 * time.Millisecond
	for _, planted := range []bool{false, true} {
		d := device(bucket, fmt.Sprintf("killed-%t", planted))
		killed := intentOf(d)
		a := open(t, bucket, Options{Lease: lease})
		h, err := filesOf(t, a, d).Begin(ctx, killed, store.Seen{})
		if err != nil {
			t.Fatal(err)
		}
		_, key, _ := ParseURL(d.Outfile)
		if planted {
			raw(t, bucket, key, []byte("planted"))
		} else if _, err := h.WriteOutfile(ctx, []byte("ct")); err != nil {
			t.Fatal(err)
		}
		a.Close() // killed: the lease runs out
		b := open(t, bucket, Options{Lease: lease, Now: later(2 * lease)})
		seen, _ := seenBy(t, b, d)
		h2, err := filesOf(t, b, d).Begin(ctx, killed, seen)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := h2.OutfileSHA256(ctx)
		switch {
		case !planted && (err != nil || sum != sha256Hex([]byte("ct"))):
			t.Errorf("the killed run's own outfile: OutfileSHA256 = %q, %v", sum, err)
		case planted && err == nil && sum != "":
			t.Errorf("an object planted at the outfile's key: OutfileSHA256 = %q, want none to record", sum)
		}
		h2.Keep(ctx)
	}
}
