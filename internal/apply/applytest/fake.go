// Package applytest is an in-memory IAM account for tests of apply and
// what it feeds: a [Fake] satisfies apply.API, answers as IAM would for
// the calls apply makes, and fails the calls a test asks it to, with the
// errors that internal/device defines. The HTTP tests against iamlocal
// prove the wire; these prove apply's decisions.
package applytest

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/mfabulk/mfabulk/internal/apply"
	"github.com/mfabulk/mfabulk/internal/device"
)

var _ apply.API = (*Fake)(nil)

// Account is the account ID a Fake holds its devices in.
const Account = "123456789012"

// Device is a device held by a Fake, with the secret it issued.
type Device struct {
	Serial    string
	Name      string
	Path      string
	Seed      []byte // the Base32 seed text, as issued
	QRCodePNG []byte // stand-in bytes for the QR code, as issued
	Tags      map[string]string
	User      string // the user it was enabled for, if any
}

// Fault is how a Fake fails one call.
type Fault struct {
	// Commit carries out a create before failing it: the device exists,
	// but its response (and seed) is lost.
	Commit bool
	Err    error
}

// Fake is an in-memory account. Its zero value is not usable; call New.
type Fake struct {
	// OnCreated, when set, is called after a create succeeds and before
	// its response is returned, with the device's name.
	OnCreated func(name string)

	mu      sync.Mutex
	devices map[string]*Device // by lower-case name: IAM names ignore case
	faults  map[string][]Fault // by call: "Create", "Delete", "ListTags", "Tag", "Untag"
	calls   map[string]int
}

// New returns an empty account.
func New() *Fake {
	return &Fake{devices: map[string]*Device{}, faults: map[string][]Fault{}, calls: map[string]int{}}
}

// Fail queues faults for the next calls of op ("Create", "Delete",
// "ListTags", "Tag" or "Untag"), one a call, in order.
func (f *Fake) Fail(op string, faults ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[op] = append(f.faults[op], faults...)
}

// Put adds a device, as another run or person would.
func (f *Fake) Put(name, path string, tags map[string]string) Device {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.put(name, path, tags)
}

// Device returns the device named name (in any case).
func (f *Fake) Device(name string) (Device, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.devices[strings.ToLower(name)]
	if !ok {
		return Device{}, false
	}
	return *d, true
}

// Len returns how many devices the account holds.
func (f *Fake) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.devices)
}

// Calls returns how often op was called, faults included.
func (f *Fake) Calls(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// call counts a call of op and pops its next fault.
func (f *Fake) call(op string) (Fault, bool) {
	f.calls[op]++
	q := f.faults[op]
	if len(q) == 0 {
		return Fault{}, false
	}
	f.faults[op] = q[1:]
	return q[0], true
}

func (f *Fake) put(name, path string, tags map[string]string) *Device {
	raw := make([]byte, 40)
	rand.Read(raw)
	seed := []byte(base32.StdEncoding.EncodeToString(raw))
	d := &Device{
		Serial: device.SerialFor("", Account, path, name), Name: name, Path: path,
		Seed: seed, QRCodePNG: append([]byte("PNG:"), seed...), Tags: maps.Clone(tags),
	}
	f.devices[strings.ToLower(name)] = d
	return d
}

func (f *Fake) bySerial(serial string) *Device {
	for _, d := range f.devices {
		if d.Serial == serial {
			return d
		}
	}
	return nil
}

// Create creates a device, as IAM does: a name taken in any case is
// EntityAlreadyExists. The secret returned is a copy, which apply wipes.
func (f *Fake) Create(_ context.Context, name, path string, tags map[string]string) (*device.Created, error) {
	f.mu.Lock()
	fault, failed := f.call("Create")
	_, exists := f.devices[strings.ToLower(name)]
	switch {
	case failed && fault.Commit && !exists:
		f.put(name, path, tags)
		fallthrough
	case failed:
		f.mu.Unlock()
		return nil, fault.Err
	case exists:
		f.mu.Unlock()
		return nil, Refusal("EntityAlreadyExists", "MFADevice entity at the same path and name already exists.")
	}
	d := f.put(name, path, tags)
	c := &device.Created{Serial: d.Serial, Base32StringSeed: clone(d.Seed), QRCodePNG: clone(d.QRCodePNG)}
	hook := f.OnCreated
	f.mu.Unlock()
	if hook != nil {
		hook(name)
	}
	return c, nil
}

// Enable assigns a device to user; the codes are not checked (iamlocal
// checks them over the wire). A missing device is NoSuchEntity, an
// assigned one EntityAlreadyExists.
func (f *Fake) Enable(_ context.Context, user, serial, _, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fault, failed := f.call("Enable"); failed {
		return fault.Err
	}
	d := f.bySerial(serial)
	switch {
	case d == nil:
		return noSuchEntity(serial)
	case d.User != "":
		return Refusal("EntityAlreadyExists", "MFA device is already in use")
	}
	d.User = user
	return nil
}

// UserDevices returns the serials of the devices enabled for user; every
// user exists in a Fake.
func (f *Fake) UserDevices(_ context.Context, user string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fault, failed := f.call("UserDevices"); failed {
		return nil, fault.Err
	}
	var out []string
	for _, d := range f.devices {
		if strings.EqualFold(d.User, user) {
			out = append(out, d.Serial)
		}
	}
	return out, nil
}

// EnabledFor reports whether serial is enabled for user; a Fake keeps no
// enable dates (its observed devices have none).
func (f *Fake) EnabledFor(_ context.Context, user, serial string) (time.Time, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fault, failed := f.call("EnabledFor"); failed {
		return time.Time{}, false, fault.Err
	}
	d := f.bySerial(serial)
	return time.Time{}, d != nil && strings.EqualFold(d.User, user), nil
}

// Deactivate takes a device away from user; one not enabled for that
// user is NoSuchEntity, as IAM answers.
func (f *Fake) Deactivate(_ context.Context, user, serial string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fault, failed := f.call("Deactivate"); failed {
		return fault.Err
	}
	d := f.bySerial(serial)
	if d == nil || !strings.EqualFold(d.User, user) {
		return noSuchEntity(serial)
	}
	d.User = ""
	return nil
}

// Delete deletes a device; a missing one is NoSuchEntity, an assigned one
// DeleteConflict, as IAM answers.
func (f *Fake) Delete(_ context.Context, serial string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fault, failed := f.call("Delete"); failed {
		return fault.Err
	}
	d := f.bySerial(serial)
	if d == nil {
		return noSuchEntity(serial)
	}
	if d.User != "" {
		return Refusal("DeleteConflict", "MFA Device is in use by user "+d.User+" and cannot be deleted.")
	}
	delete(f.devices, strings.ToLower(d.Name))
	return nil
}

// ListTags returns a copy of a device's tags.
func (f *Fake) ListTags(_ context.Context, serial string) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fault, failed := f.call("ListTags"); failed {
		return nil, fault.Err
	}
	d := f.bySerial(serial)
	if d == nil {
		return nil, noSuchEntity(serial)
	}
	return maps.Clone(d.Tags), nil
}

// Tag sets tags on a device.
func (f *Fake) Tag(_ context.Context, serial string, tags map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fault, failed := f.call("Tag"); failed {
		return fault.Err
	}
	d := f.bySerial(serial)
	if d == nil {
		return noSuchEntity(serial)
	}
	if d.Tags == nil {
		d.Tags = map[string]string{}
	}
	maps.Copy(d.Tags, tags)
	return nil
}

// Untag removes tag keys from a device.
func (f *Fake) Untag(_ context.Context, serial string, keys []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fault, failed := f.call("Untag"); failed {
		return fault.Err
	}
	d := f.bySerial(serial)
	if d == nil {
		return noSuchEntity(serial)
	}
	for _, k := range keys {
		delete(d.Tags, k)
	}
	return nil
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

func noSuchEntity(serial string) error {
	return Refusal("NoSuchEntity", "VirtualMFADevice with serial "+serial+" not found.")
}

// Refusal is IAM's answer refusing a call (a 4xx with an error code):
// nothing changed.
func Refusal(code, msg string) error {
	return &device.APIError{Code: code, Refused: true, Err: fmt.Errorf("api error %s: %s", code, msg)}
}

// SeedLost is a create's error when a retry met EntityAlreadyExists: an
// earlier attempt of the same call may have created the device.
func SeedLost() error {
	return fmt.Errorf("create (attempt 2): %w: %w", device.ErrSeedLost, Refusal("EntityAlreadyExists", "MFADevice entity at the same path and name already exists."))
}

// MaybeCommitted is a create's error when a retry was refused after an
// earlier attempt failed without an answer.
func MaybeCommitted() error {
	return fmt.Errorf("create (attempt 2): %w: %w", device.ErrMaybeCommitted, Refusal("Throttling", "Rate exceeded"))
}

// ErrNetwork is a call that got no answer: it may have taken effect.
var ErrNetwork = errors.New("connection reset by peer")
