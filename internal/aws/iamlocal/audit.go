package iamlocal

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"regexp"
	"sync"
)

// AuditEntry is one committed create or delete, with the access key ID
// that signed it. Tests of concurrent runs give each run its own key, so
// that the audit can tell whose device a run deleted.
type AuditEntry struct {
	Action  string // "CreateVirtualMFADevice" or "DeleteVirtualMFADevice"
	Device  string // the device's name
	Serial  string
	Key     string // the access key ID that signed the request
	Creator string // for a delete: the key that created the deleted device
	seed    []byte // identifies one device among several of the same name
}

// auditLog is a server's audit; deletes hold mu across the handler, so that
// the device looked up before the call is the one the call deletes (only a
// delete removes a device, and a create cannot take an existing name).
type auditLog struct {
	mu      sync.Mutex
	entries []AuditEntry
}

// audits holds each server's log outside Server, so that the hook in
// ServeHTTP stays one call.
var audits sync.Map // *Server → *auditLog

func (s *Server) auditLog() *auditLog {
	a, _ := audits.LoadOrStore(s, &auditLog{})
	return a.(*auditLog)
}

// credentialRE finds the access key ID in a SigV4 Authorization header:
// "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, …".
var credentialRE = regexp.MustCompile(`Credential=([^/,\s]+)/`)

func accessKeyID(r *http.Request) string {
	if m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		return m[1]
	}
	return ""
}

// audited runs handler h for action and records a committed create or
// delete with the key that signed r.
func (s *Server) audited(r *http.Request, action string, h handler) (any, *APIError) {
	form := formValues(r.Form)
	switch action {
	case "CreateVirtualMFADevice":
		result, apiErr := h(s, form)
		if apiErr == nil {
			x := result.(createResult).VirtualMFADevice
			seed, _ := base64.StdEncoding.DecodeString(x.Base32StringSeed)
			a := s.auditLog()
			a.mu.Lock()
			a.entries = append(a.entries, AuditEntry{Action: action, Device: form.get("VirtualMFADeviceName"), Serial: x.SerialNumber, Key: accessKeyID(r), seed: seed})
			a.mu.Unlock()
		}
		return result, apiErr
	case "DeleteVirtualMFADevice":
		a := s.auditLog()
		a.mu.Lock()
		defer a.mu.Unlock()
		s.mu.Lock()
		var victim Device
		if d, err := s.bySerial(form.get("SerialNumber")); err == nil {
			victim = *d
		}
		s.mu.Unlock()
		result, apiErr := h(s, form)
		if apiErr == nil {
			a.entries = append(a.entries, AuditEntry{Action: action, Device: victim.Name, Serial: victim.Serial, Key: accessKeyID(r), seed: victim.Seed})
		}
		return result, apiErr
	}
	return h(s, form)
}

// Audit returns every committed create and delete in order, each delete
// with the key that created the device it deleted ("" when the device was
// made with [Server.CreateDevice]).
func (s *Server) Audit() []AuditEntry {
	a := s.auditLog()
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]AuditEntry, len(a.entries))
	copy(out, a.entries)
	// A create's entry may be recorded after the delete of its device (the
	// two hooks race), so creators are matched by seed here, once, and not
	// when the delete is recorded.
	for i := range out {
		if out[i].Action != "DeleteVirtualMFADevice" {
			continue
		}
		for _, c := range out {
			if c.Action == "CreateVirtualMFADevice" && bytes.Equal(c.seed, out[i].seed) {
				out[i].Creator = c.Key
				break
			}
		}
	}
	return out
}

// ForeignDeletes counts the deletes of a device that another key created:
// with one key per run, one run deleting another's device.
func (s *Server) ForeignDeletes() int {
	n := 0
	for _, e := range s.Audit() {
		if e.Action == "DeleteVirtualMFADevice" && e.Creator != "" && e.Creator != e.Key {
			n++
		}
	}
	return n
}
