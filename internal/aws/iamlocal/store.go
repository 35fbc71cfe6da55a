package iamlocal

import (
	"crypto/rand"
	"encoding/base32"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/mfabulk/mfabulk/internal/device"
)

// Input constraints from IAM's API model; a request breaking one gets the
// ValidationError that IAM's front end returns.
var (
	nameRE   = regexp.MustCompile(`^[\w+=,.@-]+$`)
	pathRE   = regexp.MustCompile(`^(/|/[\x21-\x7E]+/)$`)
	tagKeyRE = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	tagValRE = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
)

// Device is a virtual MFA device held by the endpoint, with the secret it
// issued, so that tests can check outfiles against it.
type Device struct {
	Serial     string
	Name       string
	Path       string
	Seed       []byte // the Base32 seed text, as issued
	QRCodePNG  []byte // the QR code PNG, as issued
	Tags       []Tag
	User       string
	EnableDate time.Time
}

// Tag is an IAM tag.
type Tag struct{ Key, Value string }

func (s *Server) serial(path, name string) string {
	return device.SerialFor("", s.account, path, name)
}

func newSeed() []byte {
	b := make([]byte, 40) // 40 bytes are 64 Base32 characters, IAM's length
	rand.Read(b)
	return []byte(base32.StdEncoding.EncodeToString(b))
}

func validateName(name string) *APIError {
	if len(name) < 1 || len(name) > 226 || !nameRE.MatchString(name) {
		return Errorf("ValidationError", "1 validation error detected: Value '%s' at 'virtualMFADeviceName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length between 1 and 226", name)
	}
	return nil
}

func validatePath(path string) *APIError {
	if len(path) > 512 || !pathRE.MatchString(path) {
		return Errorf("ValidationError", "1 validation error detected: Value '%s' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007F]+\\u002F)", path)
	}
	return nil
}

func validateTags(tags []Tag) *APIError {
	if len(tags) > 50 {
		return Errorf("ValidationError", "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50")
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if len(t.Key) < 1 || len([]rune(t.Key)) > 128 || !tagKeyRE.MatchString(t.Key) {
			return Errorf("ValidationError", "1 validation error detected: Value '%s' at 'tags.member.key' failed to satisfy constraint: Member must have length between 1 and 128 and satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+", t.Key)
		}
		if len([]rune(t.Value)) > 256 || !tagValRE.MatchString(t.Value) {
			return Errorf("ValidationError", "1 validation error detected: Value at 'tags.member.value' failed to satisfy constraint: Member must have length less than or equal to 256 and satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*")
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return Errorf("InvalidInput", "Tag keys starting with 'aws:' are reserved for internal use")
		}
		if seen[strings.ToLower(t.Key)] {
			return Errorf("InvalidInput", "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[strings.ToLower(t.Key)] = true
	}
	return nil
}

// secret is a new device's seed and, unless nobody will scan it, its QR
// code. It is made before s.mu is taken: rendering the QR code is most of a
// create's cost, and creates must not queue behind it.
func (s *Server) secret(name string, withQR bool) (seed, png []byte, err *APIError) {
	seed = newSeed()
	if !withQR {
		return seed, nil, nil
	}
	png, qerr := qrPNG("otpauth://totp/" + name + "@" + s.account + "?secret=" + string(seed))
	if qerr != nil {
		return nil, nil, Errorf("ServiceFailure", "rendering QR code: %v", qerr)
	}
	return seed, png, nil
}

// create adds a device with the given secret; the caller holds s.mu.
func (s *Server) create(name, path string, tags []Tag, seed, png []byte) (*Device, *APIError) {
	if path == "" {
		path = "/"
	}
	if err := validateName(name); err != nil {
		return nil, err
	}
	if err := validatePath(path); err != nil {
		return nil, err
	}
	if err := validateTags(tags); err != nil {
		return nil, err
	}
	key := strings.ToLower(name)
	if _, ok := s.devices[key]; ok {
		return nil, Errorf("EntityAlreadyExists", "MFADevice entity at the same path and name already exists.")
	}
	if s.opts.MaxDevices > 0 && len(s.devices) >= s.opts.MaxDevices {
		return nil, Errorf("LimitExceeded", "Cannot exceed quota for VirtualMFADevicesPerAccount: %d", s.opts.MaxDevices)
	}
	d := &Device{Serial: s.serial(path, name), Name: name, Path: path, Seed: seed, QRCodePNG: png, Tags: tags}
	s.devices[key] = d
	s.issued = append(s.issued, *d)
	return d, nil
}

// bySerial finds a device by its ARN; the caller holds s.mu.
func (s *Server) bySerial(serial string) (*Device, *APIError) {
	for _, d := range s.devices {
		if d.Serial == serial {
			return d, nil
		}
	}
	return nil, Errorf("NoSuchEntity", "VirtualMFADevice with serial number %s doesn't exist.", serial)
}

// sorted lists devices in serial order, the stable order that paging needs.
func (s *Server) sorted() []*Device {
	out := make([]*Device, 0, len(s.devices))
	for _, d := range s.devices {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Serial < out[j].Serial })
	return out
}

func (d *Device) tagIndex(key string) int {
	for i, t := range d.Tags {
		if strings.EqualFold(t.Key, key) {
			return i
		}
	}
	return -1
}
