package enroll

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mfabulk/mfabulk/internal/device"
)

// API is what enroll needs of IAM and STS.
type API interface {
	ListDevices(ctx context.Context) ([]device.Observed, error)
	CallerUser(ctx context.Context) (account, user string, err error)
	Enable(ctx context.Context, user, serial, code1, code2 string) error
}

// Found is the device an outfile's secret belongs to, and how it was found.
type Found struct {
	Serial string
	// Via says where the serial came from: "--serial", the record's
	// file name, or "the account's unassigned devices".
	Via string
}

// ErrNotFound is wrapped by [Find]'s errors when no single device could
// be told: the person passes --serial.
var ErrNotFound = errors.New("cannot tell which device the outfile is for")

// Find finds the device of the outfile whose secret is s, without the
// person typing an ARN: serial when given; else the record apply wrote
// beside the outfile (b: .OUTFILE.id, when it is a regular file of the
// caller's in a folder only the caller can change, or the record object
// of an outfile in an S3 store); else the one
// unassigned virtual MFA device of the account named as the secret says
// (the QR code's label, or the outfile's file name).
func Find(ctx context.Context, api API, s *Secret, b Beside, serial string) (Found, error) {
	if serial != "" {
		if _, _, err := device.ParseSerial(serial); err != nil {
			return Found{}, err
		}
		return Found{Serial: serial, Via: "--serial"}, nil
	}
	// Whether the record proves anything is CheckProvenance's question,
	// not Find's: a record only says where to look.
	if rec := b.Record; rec != nil && rec.Serial != "" {
		if !s.NameFromFile && !strings.EqualFold(rec.Device, s.Name) {
			return Found{}, fmt.Errorf("%w: its record %s names device %q, but its QR code is for %q", ErrNotFound,
				b.Name, rec.Device, s.Name)
		}
		return Found{Serial: rec.Serial, Via: b.Name}, nil
	}
	devs, err := api.ListDevices(ctx)
	if err != nil {
		return Found{}, err
	}
	d, err := Match(devs, s.Name, s.Account)
	if err != nil {
		if s.NameFromFile {
			return Found{}, fmt.Errorf("%w (the name %q was taken from the outfile's file name)", err, s.Name)
		}
		return Found{}, err
	}
	return Found{Serial: d.Serial, Via: "the account's unassigned devices"}, nil
}

// AssignedError is [Match]'s error when the one device of the name is
// already enabled for a user: enroll tells the person it is enabled for
// them, when they are that user, rather than asking for --serial.
type AssignedError struct {
	Device device.Observed
	Name   string
}

func (e *AssignedError) Error() string {
	return fmt.Sprintf("%v: device %s is already assigned to user %s, and no unassigned device is called %q",
		ErrNotFound, e.Device.Serial, e.Device.User, e.Name)
}

// Unwrap makes it an [ErrNotFound].
func (e *AssignedError) Unwrap() error { return ErrNotFound }

// Match picks, among an account's virtual MFA devices, the one unassigned
// device called name (IAM names ignore case), in account when it is not
// empty. None, or more than one, is an error wrapping [ErrNotFound].
func Match(devs []device.Observed, name, account string) (device.Observed, error) {
	var hits, assigned []device.Observed
	for _, d := range devs {
		if !strings.EqualFold(d.Name, name) {
			continue
		}
		if account != "" && !strings.Contains(d.Serial, ":"+account+":") {
			continue
		}
		if d.Assigned() {
			assigned = append(assigned, d)
			continue
		}
		hits = append(hits, d)
	}
	switch {
	case len(hits) == 1:
		return hits[0], nil
	case len(hits) > 1:
		serials := make([]string, len(hits))
		for i, d := range hits {
			serials[i] = d.Serial
		}
		return device.Observed{}, fmt.Errorf("%w: %d unassigned devices are called %q (%s)", ErrNotFound, len(hits), name, strings.Join(serials, ", "))
	case len(assigned) == 1:
		return device.Observed{}, &AssignedError{Device: assigned[0], Name: name}
	case len(assigned) > 0:
		return device.Observed{}, fmt.Errorf("%w: device %s is already assigned to user %s, and no unassigned device is called %q",
			ErrNotFound, assigned[0].Serial, assigned[0].User, name)
	}
	return device.Observed{}, fmt.Errorf("%w: no unassigned virtual MFA device is called %q", ErrNotFound, name)
}
