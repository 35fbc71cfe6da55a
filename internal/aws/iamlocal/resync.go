package iamlocal

import (
	"strings"

	"github.com/mfabulk/mfabulk/internal/totp"
)

// resyncWindow is how many 30-second steps, either side of the server's
// clock, ResyncMFADevice looks for the two codes in: wider than
// EnableMFADevice's, since resynchronising is for a device whose codes
// have drifted from IAM's time.
const resyncWindow = 10

func init() {
	handlers["ResyncMFADevice"] = (*Server).handleResync
	mutating["ResyncMFADevice"] = true
}

// handleResync is ResyncMFADevice: the device must be enabled for the
// user, and the two codes consecutive codes of its seed near the server's
// time, not used before (as EnableMFADevice's).
func (s *Server) handleResync(f formValues) (any, *APIError) {
	name, serial := f.get("UserName"), f.get("SerialNumber")
	if name == "" {
		return nil, Errorf("ValidationError", "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null")
	}
	if err := validateSerial(serial); err != nil {
		return nil, err
	}
	code1, code2 := f.get("AuthenticationCode1"), f.get("AuthenticationCode2")
	if err := validateCode("authenticationCode1", code1); err != nil {
		return nil, err
	}
	if err := validateCode("authenticationCode2", code2); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.user(name)
	if err != nil {
		return nil, err
	}
	d, err := s.lookup(f)
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(d.User, u.Name) {
		return nil, Errorf("NoSuchEntity", "MFA Device with serial number %s does not exist for user %s.", serial, u.Name)
	}
	step, ok := totp.Match(d.Seed, code1, code2, s.now(), resyncWindow)
	if last, used := s.used[d]; !ok || (used && step <= last) {
		return nil, Errorf("InvalidAuthenticationCode", "Authentication code for the MFA device is not valid.")
	}
	s.used[d] = step
	return nil, nil
}
