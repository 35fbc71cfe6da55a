package view

import (
	"github.com/mfabulk/mfabulk/internal/apply"
	"github.com/mfabulk/mfabulk/internal/plan"
)

// The values a plan, an apply or an account carries came from outside
// mfabulk: a manifest, a recipients file, a journal file, a saved plan,
// an AWS answer. They enter a view only through these accessors, each of
// which escapes with Text and cuts to a bound (clip), so that no view
// prints one raw and no one value crowds out the rest. Markdown then
// quotes them with mdCode or mdText (see mdescape.go).

// Bounds, in bytes of escaped text. maxValue is beyond any name, path or
// reason IAM or a manifest accepts, escapes aside; maxMessage holds an AWS
// error message whole; maxComment keeps a recipient's short form to a
// line a reviewer compares at a glance.
const (
	maxValue   = 1024
	maxMessage = 4096
	maxComment = 64
	maxKeyType = 32
	maxAccount = 256
)

// deviceName is a device's path and name as one value.
func deviceName(path, name string) string { return clip(path+name, maxValue) }

// changeName is a change's device, path and name.
func changeName(c plan.Change) string { return deviceName(c.Path, c.Name) }

// reason is why a change is planned.
func reason(c plan.Change) string { return clip(c.Reason, maxValue) }

// outfile is where a reviewed change seals its new secret, relative to
// the working folder when inside it.
func outfile(c plan.Change) string { return clip(rel(c.Desired.Outfile), maxValue) }

// bootstrap is the outfile's kind (QRCodePNG, Base32StringSeed).
func bootstrap(c plan.Change) string { return clip(c.Desired.Bootstrap, maxValue) }

// user is the IAM user a change enables its device for.
func user(c plan.Change) string { return clip(c.Desired.User, maxValue) }

// consequence is what a change that deactivates a device costs its user
// ("" for any other change); the user's name came from IAM.
func consequence(c plan.Change) string { return clip(c.Consequence(), maxValue) }

// account is an account ID (or a saved plan's claim of one).
func account(s string) string { return clip(s, maxAccount) }

// noticeDevice and noticeMessage are a notice's device and what it says;
// the message quotes journal files, paths and AWS answers.
func noticeDevice(n plan.Notice) string  { return clip(n.Device, maxValue) }
func noticeMessage(n plan.Notice) string { return clip(n.Message, maxMessage) }

// tagKey is a tag's key.
func tagKey(k string) string { return clip(k, maxValue) }

// errText is an error's message, which may quote file names, YAML values
// and AWS answers, as one line.
func errText(err error) string { return clip(err.Error(), maxMessage) }

// value is any other value from outside: a role ARN, a serial, a user.
func value(s string) string { return clip(s, maxValue) }

// outcomeDevice is the device an apply outcome is about.
func outcomeDevice(o apply.Outcome) string { return value(o.Device) }
