package iamlocal

import (
	"encoding/base64"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/mfabulk/mfabulk/internal/device"
)

// formValues reads AWS Query parameters, including the flattened
// "Tags.member.N.Key" lists.
type formValues url.Values

func (f formValues) get(k string) string { return url.Values(f).Get(k) }

func (f formValues) tags() []Tag {
	var out []Tag
	for i := 1; ; i++ {
		p := "Tags.member." + strconv.Itoa(i) + "."
		k, ok := f[p+"Key"]
		if !ok {
			return out
		}
		out = append(out, Tag{Key: k[0], Value: f.get(p + "Value")})
	}
}

func (f formValues) list(name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := f[name+".member."+strconv.Itoa(i)]
		if !ok {
			return out
		}
		out = append(out, v[0])
	}
}

// page reads Marker and MaxItems (1 to 1000, default 100) and cuts items.
func page[T any](f formValues, items []T, key func(T) string) ([]T, string, *APIError) {
	max := 100
	if v := f.get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return nil, "", Errorf("ValidationError", "1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000", v)
		}
		max = n
	}
	start := 0
	if m := f.get("Marker"); m != "" {
		after, err := base64.RawURLEncoding.DecodeString(m)
		if err != nil {
			return nil, "", Errorf("InvalidInput", "Invalid Marker")
		}
		for start < len(items) && key(items[start]) <= string(after) {
			start++
		}
	}
	end := min(start+max, len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1])))
	}
	return items[start:end], next, nil
}

func (s *Server) handleCreate(f formValues) (any, *APIError) {
	name := f.get("VirtualMFADeviceName")
	if err := validateName(name); err != nil {
		return nil, err // before rendering a QR code of a name IAM refuses
	}
	seed, png, err := s.secret(name, true)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.injected(name); err != nil {
		return nil, err
	}
	d, err := s.create(name, f.get("Path"), f.tags(), seed, png)
	if err != nil {
		return nil, err
	}
	x := xmlDevice{
		SerialNumber:     d.Serial,
		Base32StringSeed: base64.StdEncoding.EncodeToString(d.Seed),
		QRCodePNG:        base64.StdEncoding.EncodeToString(d.QRCodePNG),
	}
	if len(d.Tags) > 0 {
		x.Tags = toXMLTags(d.Tags)
	}
	return createResult{VirtualMFADevice: x}, nil
}

func (s *Server) handleList(f formValues) (any, *APIError) {
	status := f.get("AssignmentStatus")
	switch status {
	case "", "Any", "Assigned", "Unassigned":
	default:
		return nil, Errorf("ValidationError", "1 validation error detected: Value '%s' at 'assignmentStatus' failed to satisfy constraint: Member must satisfy enum value set: [Unassigned, Any, Assigned]", status)
	}
	s.mu.Lock()
	// Devices are copied, and their users looked up, under the lock: an
	// EnableMFADevice may change them as soon as it is released.
	var all []xmlDevice
	for _, d := range s.sorted() {
		assigned := d.User != ""
		if (status == "Assigned" && !assigned) || (status == "Unassigned" && assigned) {
			continue
		}
		// Like IAM, the list never returns seeds or tags.
		x := xmlDevice{SerialNumber: d.Serial}
		if assigned {
			x.User = s.xmlUserOf(d.User)
			x.EnableDate = d.EnableDate.Format(time.RFC3339)
		}
		all = append(all, x)
	}
	s.mu.Unlock()
	items, next, err := page(f, all, func(x xmlDevice) string { return x.SerialNumber })
	if err != nil {
		return nil, err
	}
	res := listResult{IsTruncated: next != "", Marker: next}
	res.VirtualMFADevices.Members = items
	return res, nil
}

// lookup finds the device a serial-number call names, honouring injected
// failures; the caller holds s.mu.
func (s *Server) lookup(f formValues) (*Device, *APIError) {
	serial := f.get("SerialNumber")
	if _, name, err := device.ParseSerial(serial); err == nil {
		if e := s.injected(name); e != nil {
			return nil, e
		}
	}
	return s.bySerial(serial)
}

func (s *Server) handleDelete(f formValues) (any, *APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.lookup(f)
	if err != nil {
		return nil, err
	}
	if d.User != "" {
		return nil, Errorf("DeleteConflict", "MFA Device is in use by user %s and cannot be deleted.", d.User)
	}
	for k, v := range s.devices {
		if v == d {
			delete(s.devices, k)
		}
	}
	delete(s.used, d)
	return nil, nil
}

func (s *Server) handleTag(f formValues) (any, *APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.lookup(f)
	if err != nil {
		return nil, err
	}
	add := f.tags()
	if err := validateTags(add); err != nil {
		return nil, err
	}
	merged := append([]Tag{}, d.Tags...)
	for _, t := range add {
		if i := d.tagIndex(t.Key); i >= 0 {
			merged[i] = t
		} else {
			merged = append(merged, t)
		}
	}
	if len(merged) > 50 {
		return nil, Errorf("LimitExceeded", "Cannot exceed quota for TagsPerMFADevice: 50")
	}
	d.Tags = merged
	return nil, nil
}

func (s *Server) handleUntag(f formValues) (any, *APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.lookup(f)
	if err != nil {
		return nil, err
	}
	for _, k := range f.list("TagKeys") {
		if i := d.tagIndex(k); i >= 0 {
			d.Tags = append(d.Tags[:i], d.Tags[i+1:]...)
		}
	}
	return nil, nil
}

func (s *Server) handleListTags(f formValues) (any, *APIError) {
	s.mu.Lock()
	d, err := s.lookup(f)
	var tags []Tag
	if d != nil {
		tags = append(tags, d.Tags...)
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i].Key < tags[j].Key })
	items, next, err := page(f, tags, func(t Tag) string { return t.Key })
	if err != nil {
		return nil, err
	}
	return listTagsResult{Tags: *toXMLTags(items), IsTruncated: next != "", Marker: next}, nil
}

func (s *Server) handleCallerIdentity(formValues) (any, *APIError) {
	return callerIdentityResult{
		Arn:     device.UserARN("", s.account, "/", "iamlocal"),
		UserId:  "AIDAIAMLOCAL",
		Account: s.account,
	}, nil
}

func toXMLTags(tags []Tag) *xmlTags {
	x := &xmlTags{}
	for _, t := range tags {
		x.Members = append(x.Members, xmlTag(t))
	}
	return x
}
