// Command storeceiling is make bench's measure of an S3 endpoint's
// ceiling for mfabulk: the S3 store's protocol of a created device
// (internal/store/s3store: Begin, WriteOutfile, WriteRecord, Done), run
// for N devices at once as apply runs them, with no IAM at all. The
// devices a second it reaches bound any apply into that endpoint,
// whatever IAM's limit: if they are under the IAM limit, the endpoint
// (moto_server on a busy machine), not mfabulk, sets the pace.
//
//	storeceiling -store s3://BUCKET/PREFIX/ [-n 600] [-parallelism 64]
//
// The endpoint is the SDK's (AWS_ENDPOINT_URL_S3). It prints one JSON
// line: {"devices":N,"ok":N,"seconds":S,"devices_per_s":R}. The outfiles
// it writes are random bytes, not secrets. It is bench tooling, not part
// of mfabulk.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/store"
	"github.com/mfabulk/mfabulk/internal/store/s3store"
)

func main() {
	url := flag.String("store", "", "the store, `s3://BUCKET/PREFIX/`")
	n := flag.Int("n", 600, "`devices` to write")
	par := flag.Int("parallelism", 64, "devices worked on at once (apply's default --parallelism)")
	flag.Parse()
	if err := run(*url, *n, *par); err != nil {
		fmt.Fprintf(os.Stderr, "storeceiling: %v\n", err)
		os.Exit(1)
	}
}

func run(url string, n, par int) error {
	ctx := context.Background()
	rest, isS3 := strings.CutPrefix(url, "s3://")
	bucket, prefix, _ := strings.Cut(rest, "/")
	if !isS3 || bucket == "" || !strings.HasSuffix(url, "/") {
		return fmt.Errorf("-store %q: want s3://BUCKET/PREFIX/", url)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load the AWS config: %w", err)
	}
	st := manifest.Store{URL: url, Bucket: bucket, Prefix: prefix}
	b, err := s3store.New(ctx, s3store.Options{Client: s3store.NewClient(cfg, ""), Store: st})
	if err != nil {
		return err
	}
	defer b.Close()
	devices := make([]manifest.Device, n)
	for i := range devices {
		name := fmt.Sprintf("ceiling-%05d", i)
		devices[i] = manifest.Device{Name: name, Path: "/bench/", Outfile: url + "ceiling/" + name + ".txt.age", Store: st}
	}
	if problems := b.Check(ctx, devices, true); len(problems) > 0 {
		for _, p := range problems {
			if !p.Warning {
				return fmt.Errorf("the store's preflight: %w", p.Err)
			}
		}
	}
	var ok atomic.Int64
	var first atomic.Value
	slots := make(chan struct{}, par)
	var wg sync.WaitGroup
	start := time.Now()
	for _, d := range devices {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := device(ctx, b, d); err != nil {
				first.CompareAndSwap(nil, err)
				return
			}
			ok.Add(1)
		})
	}
	wg.Wait()
	took := time.Since(start).Seconds()
	if err, _ := first.Load().(error); err != nil {
		fmt.Fprintf(os.Stderr, "storeceiling: %d of %d devices failed; the first: %v\n", int64(n)-ok.Load(), n, err)
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"devices": n, "ok": ok.Load(), "seconds": took, "devices_per_s": float64(ok.Load()) / took,
	})
}

// device runs apply's protocol of one created device.
func device(ctx context.Context, b store.Backend, d manifest.Device) error {
	f, err := b.Files(ctx, d)
	if err != nil {
		return err
	}
	h, err := f.Begin(ctx, journal.Intent{Device: d.Name, Path: d.Path, Account: "123456789012", Outfile: d.Outfile,
		Action: "create", CreateID: rand.Text()}, store.Seen{})
	if err != nil {
		return err
	}
	body := make([]byte, 700) // an age file of a Base32 seed is some 700 bytes
	rand.Read(body)           // crypto/rand.Read never fails (Go 1.24)
	sum, err := h.WriteOutfile(ctx, body)
	if err != nil {
		return errors.Join(err, h.Keep(ctx))
	}
	err = h.WriteRecord(ctx, journal.Record{Account: "123456789012", Device: d.Name, Path: d.Path,
		Serial: "arn:aws:iam::123456789012:mfa/bench/" + d.Name, CreateID: rand.Text(), Created: time.Now(), OutfileSHA256: sum})
	if err != nil {
		return errors.Join(err, h.Keep(ctx))
	}
	return h.Done(ctx)
}
