package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/totp"
	"github.com/mfabulk/mfabulk/internal/view"
)

// resyncer is what enroll --resync needs of IAM.
type resyncer interface {
	Resync(ctx context.Context, user, serial, code1, code2 string) error
}

// resync resynchronises a device enabled for user (IAM's
// ResyncMFADevice) with two consecutive codes computed from the outfile's
// seed: for a device whose codes IAM stopped accepting. IAM accepts a code
// once, and apply's enable used the codes of the step before now and of
// now, so the codes are those of now and of the next step (within IAM's
// tolerance); refused, it waits for the next step and tries once more.
func resync(ctx context.Context, opts *enrollOpts, api resyncer, seed []byte, serial, user string, enabled bool) error {
	if !enabled {
		return withHint(fmt.Errorf("device %s is not enabled for user %s: there is nothing to resynchronise", serial, user),
			"run mfabulk enroll without --resync to enable it")
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	at := func(t time.Time) error {
		c1, c2, err := totp.Pair(seed, t)
		if err != nil {
			return fmt.Errorf("computing codes: %w", err)
		}
		return api.Resync(ctx, user, serial, c1, c2)
	}
	err := at(now().Add(totp.Step))
	if iamclient.ErrorCode(err) == "InvalidAuthenticationCode" {
		t := now()
		select {
		case <-time.After(t.Truncate(totp.Step).Add(totp.Step).Sub(t)):
		case <-ctx.Done():
			return withHint(errInterrupted, "the device was not resynchronised")
		}
		err = at(now().Add(totp.Step))
	}
	switch {
	case iamclient.ErrorCode(err) == "InvalidAuthenticationCode":
		return withHint(errors.New("IAM refused two codes computed from this outfile's secret, twice: the device's secret is not the outfile's (the outfile is outdated, or another device's), or this computer's clock is minutes off"),
			"%s; check this computer's clock", askForTheCurrentOutfile)
	case err != nil:
		return awsHint(err)
	}
	fmt.Fprintf(opts.IO.Out, "Resynchronised %s for user %s with two codes computed from the outfile's secret.\n", view.Text(serial), view.Text(user))
	fmt.Fprintln(opts.IO.Out, "If your app's codes are still refused, set your phone's clock to be set automatically: its codes follow its clock.")
	return nil
}
