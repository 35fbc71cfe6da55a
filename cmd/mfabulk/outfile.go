package main

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/enroll"
	"github.com/mfabulk/mfabulk/internal/inputfile"
	"github.com/mfabulk/mfabulk/internal/journal"
	"github.com/mfabulk/mfabulk/internal/store/s3store"
)

// personOutfile is the outfile a person names to show or enroll, read
// whole: its ciphertext, and the record beside it.
type personOutfile struct {
	ciphertext []byte
	// beside returns the record beside the outfile: read from the folder
	// when asked (a local outfile), or the one read with the object.
	beside func() enroll.Beside
}

// isS3URL tells an outfile in an S3 store (s3://BUCKET/KEY) from a path;
// a local file whose path starts so is reached as ./s3:/….
func isS3URL(outfile string) bool { return strings.HasPrefix(outfile, "s3://") }

// readPersonOutfile reads the outfile show and enroll open. A path is read
// as ever (inputfile.Read, bounded). An s3:// URL is read in memory with
// the person's own credentials (the AWS flags, --s3-endpoint-url, the
// SDK's AWS_ENDPOINT_URL_S3), object and record (s3store.ReadOutfile):
// nothing is written locally.
func readPersonOutfile(ctx context.Context, streams IO, o awsOptions, outfile string) (personOutfile, error) {
	if !isS3URL(outfile) {
		ct, err := inputfile.Read(outfile, maxOutfileSize)
		if err != nil {
			return personOutfile{}, fmt.Errorf("reading outfile: %w", err)
		}
		return personOutfile{ciphertext: ct, beside: func() enroll.Beside { return enroll.RecordBeside(outfile) }}, nil
	}
	bucket, key, err := s3store.ParseURL(outfile)
	if err != nil {
		return personOutfile{}, withHint(err, "name the outfile's object as s3://BUCKET/PREFIX/KEY, the store's URL followed by the outfile's key")
	}
	cfg, err := iamclient.StoreConfig(ctx, o.client(streams.Err))
	if err != nil {
		return personOutfile{}, fmt.Errorf("configuring the S3 client: %w", err)
	}
	ct, rec, err := s3store.ReadOutfile(ctx, s3store.NewClient(cfg, o.S3EndpointURL), outfile)
	if errors.Is(err, s3store.ErrNoOutfile) {
		return personOutfile{}, withHint(err, "check the URL: the store's s3://BUCKET/PREFIX/ followed by the outfile's key, as whoever ran apply can read it in the plan")
	}
	if err != nil {
		return personOutfile{}, err
	}
	recURL := "s3://" + bucket + "/" + path.Join(path.Dir(key), journal.RecordName(path.Base(key)))
	b := enroll.RecordOf(recURL, rec, ct)
	return personOutfile{ciphertext: ct, beside: func() enroll.Beside { return b }}, nil
}
