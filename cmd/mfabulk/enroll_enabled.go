package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/device"
	"github.com/mfabulk/mfabulk/internal/enroll"
	"github.com/mfabulk/mfabulk/internal/view"
)

// askForTheCurrentOutfile is the hint of every outdated outfile: the
// person cannot make a new one; whoever runs apply has it (apply keeps a
// replaced device's old outfile aside and writes the new one in its place).
const askForTheCurrentOutfile = "ask whoever runs mfabulk apply for the device's current outfile"

// outdated is the error of an outfile whose device is gone or was made
// again since it was sealed ([enroll.Provenance]): told before anything
// is shown, since a person who added its code to their app would hold a
// second factor of nothing.
func outdated(p enroll.Provenance, serial string) error {
	switch {
	case p.Outdated:
		return withHint(fmt.Errorf("the outfile is outdated: device %s was made again since this outfile was sealed (its %s tag is not the one the outfile's record proves), so the outfile's secret is not the device's",
			serial, device.CreateIDTag), "nothing was shown or sent to AWS; %s", askForTheCurrentOutfile)
	case p.Gone:
		return withHint(fmt.Errorf("there is no device %s in the account: the outfile is outdated (its device was deleted or made again elsewhere since), or --serial or the record beside the outfile names another", serial),
			"nothing was shown or sent to AWS; %s", askForTheCurrentOutfile)
	}
	return nil
}

// alreadyEnabled ends enroll for a device IAM lists among user's MFA
// devices (since: its EnableDate). When mfabulk's evidence proves it is
// the outfile's device (or --allow-unverified goes on without), it says
// so, shows the code as enroll would (apply may have enabled it with codes
// of its own, so the person's app may not have it yet), and succeeds:
// there is nothing to enable. Otherwise nothing proves the person holds
// this device's secret, and it is an error that says both.
func alreadyEnabled(opts *enrollOpts, sec *enroll.Secret, p enroll.Provenance, serial, user string, since time.Time) error {
	out, errOut := opts.IO.Out, opts.IO.Err
	if !p.Proven && !opts.AllowUnverified {
		errs := []error{fmt.Errorf("device %s is already enabled for user %s, but mfabulk cannot prove it is this outfile's device", serial, user)}
		for _, problem := range p.Problems {
			errs = append(errs, errors.New("  - "+problem))
		}
		return withHint(errors.Join(errs...), "nothing was sent to AWS: there is nothing to enable; if this outfile is the device's current one, add it to your authenticator app with mfabulk show; if in doubt, ask your administrator")
	}
	claim := ", and it is this outfile's device"
	if p.Proven {
		fmt.Fprintf(out, "Provenance: made by mfabulk: the device's %s tag matches the record beside the outfile, which is mfabulk's evidence (not a signature: see Enrolling).\n", device.CreateIDTag)
	} else {
		warnUnverified(opts.IO, serial, p.Problems)
		fmt.Fprintln(errOut, "Going on without proof of who made this device (--allow-unverified).")
		claim = ""
	}
	when := ""
	if !since.IsZero() {
		when = " (since " + since.UTC().Format("2006-01-02 15:04") + " UTC)"
	}
	fmt.Fprintf(out, "Already enabled: %s is enabled for user %s%s%s. Nothing was sent to AWS.\n", view.Text(serial), view.Text(user), when, claim)
	switch {
	case opts.NoShow:
		return nil
	case opts.IO.OutTTY || opts.Force:
		fmt.Fprintln(out, "If your authenticator app does not have it yet, add it now:")
		return showSecret(out, sec, opts.Invert, opts.IO.OutTTY)
	}
	fmt.Fprintln(out, "If your authenticator app does not have it yet, add it: run enroll again on a terminal, or mfabulk show.")
	return nil
}

// enableRefused words IAM's refusal of EnableMFADevice for the person:
// the codes were checked against the outfile's secret before, so an
// InvalidAuthenticationCode means the device's secret is another one (the
// outfile is outdated, or another device's), and EntityAlreadyExists,
// for a device not among the user's, that someone else has it.
func enableRefused(err error, serial, user string) error {
	switch iamclient.ErrorCode(err) {
	case "InvalidAuthenticationCode":
		return withHint(errors.New("IAM refused two codes that match this outfile's secret: the device's secret is not the outfile's, so the outfile is outdated (its device was made again since it was sealed) or is another device's"),
			"nothing was enabled; %s (if this computer's clock and your phone's are both wrong, set them right and try again)", askForTheCurrentOutfile)
	case "EntityAlreadyExists":
		return withHint(fmt.Errorf("device %s is enabled for another user, not %s (IAM: the device is already in use)", serial, user),
			"nothing was enabled; if it is yours, pass --user with the user it is enabled for; else ask your administrator")
	}
	return awsHint(err)
}
