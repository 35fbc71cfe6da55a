// Package device holds what mfabulk knows about a virtual MFA device that
// already exists in an account, independent of how it was read.
//
// IAM's list call returns only a serial number (an ARN), so the name and
// path of an existing device are recovered from it with [ParseSerial].
package device

import (
	"fmt"
	"strings"
	"time"
)

// Bootstrap methods accepted by CreateVirtualMFADevice's callers; they are the
// AWS CLI's --bootstrap-method values and decide what an outfile holds.
const (
	QRCodePNG        = "QRCodePNG"
	Base32StringSeed = "Base32StringSeed"
)

// Observed is a virtual MFA device as seen in the account.
type Observed struct {
	Serial     string    // ARN, arn:aws:iam::ACCOUNT:mfa/PATH/NAME
	Name       string    // device name, as IAM spells it
	Path       string    // "/" or "/a/b/"
	User       string    // user the device is assigned to, if any
	EnableDate time.Time // zero when unassigned
}

// Assigned reports whether the device is enabled for a user; assigned
// devices are never deleted by mfabulk.
func (o Observed) Assigned() bool { return o.User != "" || !o.EnableDate.IsZero() }

// ARN returns the ARN of an IAM resource, "arn:PARTITION:iam::ACCOUNT:RESOURCE";
// an empty partition is "aws". IAM is global, so the region is empty.
func ARN(partition, account, resource string) string {
	if partition == "" {
		partition = "aws"
	}
	return "arn:" + partition + ":iam::" + account + ":" + resource
}

// SerialFor returns the serial number (ARN) IAM gives the virtual MFA
// device name at path ("/" or "/a/b/") in an account; [ParseSerial] is its
// inverse. An empty partition is "aws".
func SerialFor(partition, account, path, name string) string {
	return ARN(partition, account, "mfa"+path+name)
}

// UserARN returns the ARN of the IAM user name at path in an account. An
// empty partition is "aws".
func UserARN(partition, account, path, name string) string {
	return ARN(partition, account, "user"+path+name)
}

// ParseSerial splits a virtual MFA device ARN into its path and name.
// IAM puts the path between "mfa" and the name, so "…:mfa/a/b/alice" is
// path "/a/b/", name "alice".
func ParseSerial(serial string) (path, name string, err error) {
	_, rest, ok := strings.Cut(serial, ":mfa/")
	if !ok || !strings.HasPrefix(serial, "arn:") {
		return "", "", fmt.Errorf("not a virtual MFA device ARN: %q", serial)
	}
	i := strings.LastIndex(rest, "/")
	path, name = "/"+rest[:i+1], rest[i+1:]
	if name == "" {
		return "", "", fmt.Errorf("virtual MFA device ARN has no name: %q", serial)
	}
	return path, name, nil
}

// Extension is the file extension that matches what a bootstrap method
// produces: a PNG image or the Base32 seed text.
func Extension(bootstrap string) string {
	if bootstrap == Base32StringSeed {
		return ".txt"
	}
	return ".png"
}

// CreateIDTag is the tag mfabulk puts on every device it creates. Its
// value is a random ID, not a secret, recorded in the journal before the
// create and beside the outfile after it, so that mfabulk can prove a
// device is the one it made (and its outfile holds that device's seed)
// before it deletes it or calls it unchanged. Manifests may not set keys
// with the "mfabulk:" prefix, and tag reconciliation leaves this one alone.
const CreateIDTag = "mfabulk:create-id"
