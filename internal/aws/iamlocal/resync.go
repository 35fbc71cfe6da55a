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
	r, err := parseCodeRequest(f)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, d, err := s.userAndDevice(f, r)
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(d.User, u.Name) {
		return nil, Errorf("NoSuchEntity", "MFA Device with serial number %s does not exist for user %s.", r.serial, u.Name)
	}
	step, ok := totp.Match(d.Seed, r.code1, r.code2, s.now(), resyncWindow)
	if last, used := s.used[d]; !ok || (used && step <= last) {
		return nil, Errorf("InvalidAuthenticationCode", "Authentication code for the MFA device is not valid.")
	}
	s.used[d] = step
	return nil, nil
}
