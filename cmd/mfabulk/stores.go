package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
	"github.com/mfabulk/mfabulk/internal/store"
	"github.com/mfabulk/mfabulk/internal/store/s3store"
	"github.com/mfabulk/mfabulk/internal/store/stores"
)

// storeFlags are the options of the S3 store, for plan and apply.
type storeFlags struct {
	// AllowUnversioned lets a run use a bucket without versioning (a
	// warning in the plan instead of a refusal): a safety switch, taken
	// only from the command line.
	AllowUnversioned bool
}

// addStoreFlags adds --allow-unversioned-store.
func addStoreFlags(cmd *cobra.Command, o *storeFlags) {
	cmd.Flags().BoolVar(&o.AllowUnversioned, "allow-unversioned-store", false, "use an S3 store whose bucket has no versioning (the plan says so; command line only)")
}

// leaseEnv overrides the S3 intents' lease (a Go duration): for tests
// and for runners whose clocks are known to agree more closely than the
// default allows for.
const leaseEnv = "MFABULK_S3_LEASE"

// s3Clients makes the S3 client of a command once, on the first store
// that needs it: a command of folders never loads it.
type s3Clients struct {
	aws    awsOptions
	debug  func() iamclient.Options
	once   sync.Once
	client *s3.Client
	err    error
}

func (c *s3Clients) get(ctx context.Context) (*s3.Client, error) {
	c.once.Do(func() {
		cfg, err := iamclient.StoreConfig(ctx, c.debug())
		if err != nil {
			c.err = fmt.Errorf("configuring the S3 client: %w", err)
			return
		}
		c.client = s3store.NewClient(cfg, c.aws.S3EndpointURL)
	})
	return c.client, c.err
}

// openStores returns the stores of a command's manifests, each opened on
// first use: the folders next to the manifests, and the S3 stores they
// name through the base credentials. The S3 stores are checked here,
// before any IAM call (bucket, region, versioning, access to the
// prefix): a store that apply would refuse stops the command with the
// fix named, having changed nothing.
func openStores(ctx context.Context, streams IO, o awsOptions, sf storeFlags, ms []*manifest.Manifest) (*stores.Set, error) {
	lease, err := storeLease()
	if err != nil {
		return nil, err
	}
	clients := &s3Clients{aws: o, debug: func() iamclient.Options { return o.client(streams.Err) }}
	st := stores.New(stores.Options{OpenS3: func(ctx context.Context, s manifest.Store) (store.Backend, error) {
		client, err := clients.get(ctx)
		if err != nil {
			return nil, err
		}
		return s3store.New(ctx, s3store.Options{Client: client, Store: s, AllowUnversioned: sf.AllowUnversioned, Lease: lease})
	}})
	var devices []manifest.Device
	for _, m := range ms {
		for _, d := range m.Devices {
			if !d.Store.IsFolder() {
				devices = append(devices, d)
			}
		}
	}
	if len(devices) == 0 {
		return st, nil
	}
	var errs []error
	for _, p := range st.Check(ctx, devices, false) {
		if !p.Warning {
			errs = append(errs, p.Err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(st.Close(), fmt.Errorf("checking the store before any IAM call (nothing was read or changed in the account): %w", errors.Join(errs...)))
	}
	return st, nil
}

func storeLease() (time.Duration, error) {
	v := os.Getenv(leaseEnv)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: not a positive duration such as 2m", leaseEnv, v)
	}
	return d, nil
}

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
// nearest existing parent, in which apply will create it; in an S3
// store, its warnings (versioning off but allowed, public access not
// blocked).
func localNotices(ctx context.Context, st *stores.Set, p plan.Plan) []plan.Notice {
	var devices []manifest.Device
	byName := map[string]manifest.Store{}
	for _, c := range p.Changes {
		// Every device of an S3 store, changed or not: its warnings
		// (versioning off, allowed) are the plan's to say.
		if c.Desired != nil && (c.Reviewed() || !c.Desired.Store.IsFolder()) {
			devices = append(devices, *c.Desired)
			byName[c.Desired.Name] = c.Desired.Store
		}
	}
	var out []plan.Notice
	for _, pr := range st.Check(ctx, devices, false) {
		s := byName[pr.Device]
		n := plan.Notice{Device: pr.Device, Local: !pr.Warning, Store: pr.Warning}
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
