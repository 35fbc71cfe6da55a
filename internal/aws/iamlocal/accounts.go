package iamlocal

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Role is a role that STS AssumeRole may assume: its ARN names the account
// the temporary credentials act in. When ExternalID is set, AssumeRole
// must give it, as a trust policy's sts:ExternalId condition demands.
type Role struct {
	ARN        string // arn:aws:iam::ACCOUNT:role/NAME (a path is allowed)
	ExternalID string
}

// roleARNRE is a role ARN: the account and the role's name.
var roleARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::([0-9]{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$`)

// ParseRole reads a role as cmd/iamlocal's -role flag gives it:
// "ARN" or "ARN,externalId=X".
func ParseRole(s string) (Role, error) {
	arn, rest, _ := strings.Cut(s, ",")
	r := Role{ARN: arn}
	if rest != "" {
		k, v, ok := strings.Cut(rest, "=")
		if !ok || k != "externalId" || v == "" {
			return Role{}, fmt.Errorf("parsing role %q: want ARN or ARN,externalId=ID", s)
		}
		r.ExternalID = v
	}
	if !roleARNRE.MatchString(arn) {
		return Role{}, fmt.Errorf("parsing role %q: not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)", arn)
	}
	return r, nil
}

// sessionNameRE is STS's RoleSessionName.
var sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

// session is one set of temporary credentials AssumeRole issued.
type session struct {
	account, role, name string // the role's account, name and the session's name
	token               string
	expires             time.Time
}

func (ss *session) arn() string {
	return "arn:aws:sts::" + ss.account + ":assumed-role/" + ss.role + "/" + ss.name
}

// randomID is n characters of IAM's ID alphabet.
func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base32.StdEncoding.EncodeToString(b)[:n]
}

// Account returns the server of one account, creating it empty (with the
// same quota and faults, its own rate limit) when none has been made yet:
// the server's own account is itself.
func (s *Server) Account(id string) *Server {
	if id == s.account {
		return s
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[id]
	if !ok {
		o := s.opts
		o.Account, o.Roles, o.AnyRole = id, nil, false
		a = New(o)
		a.closing = s.closing // Close releases its held requests too
		s.accounts[id] = a
	}
	return a
}

// Accounts lists the accounts that hold state: the server's own and every
// account a role was assumed in, sorted.
func (s *Server) Accounts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []string{s.account}
	for id := range s.accounts {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// AssumedRoles counts the AssumeRole calls granted, by role ARN: which
// roles a run reached its accounts through, so that a test can tell a
// plan that read through a read-only role from one that assumed the role
// that may change devices.
func (s *Server) AssumedRoles() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.assumed)
}

// route finds the account the request's credentials act in: the server's
// own for long-term keys, the role's for a key AssumeRole issued.
func (s *Server) route(r *http.Request) (*Server, *session, *APIError) {
	key := accessKeyID(r)
	s.mu.Lock()
	ss, ok := s.sessions[key]
	s.mu.Unlock()
	if !ok {
		return s, nil, nil
	}
	if r.Header.Get("X-Amz-Security-Token") != ss.token {
		return nil, nil, Errorf("InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	if !s.now().Before(ss.expires) {
		return nil, nil, Errorf("ExpiredToken", "The security token included in the request is expired")
	}
	return s.Account(ss.account), ss, nil
}

// handleAssumeRole is STS AssumeRole: temporary credentials for a
// registered role (or any role, with Options.AnyRole), refused with
// AccessDenied as STS does for a role that does not trust the caller or an
// external ID that does not match.
func (s *Server) handleAssumeRole(f formValues, caller string) (any, *APIError) {
	arn, name := f.get("RoleArn"), f.get("RoleSessionName")
	if arn == "" || name == "" {
		return nil, Errorf("ValidationError", "1 validation error detected: RoleArn and RoleSessionName are required")
	}
	if !sessionNameRE.MatchString(name) {
		return nil, Errorf("ValidationError", "1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", name)
	}
	duration := 3600
	if v := f.get("DurationSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 900 || n > 43200 {
			return nil, Errorf("ValidationError", "1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200", v)
		}
		duration = n
	}
	denied := Errorf("AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller, arn)
	m := roleARNRE.FindStringSubmatch(arn)
	if m == nil {
		return nil, denied
	}
	s.mu.Lock()
	role, known := s.roles[arn]
	s.mu.Unlock()
	switch {
	case !known && !s.opts.AnyRole:
		return nil, denied
	case role.ExternalID != "" && f.get("ExternalId") != role.ExternalID:
		return nil, denied
	}
	ss := &session{account: m[1], role: m[2], name: name, token: "IQoJiamlocal" + randomID(40), expires: s.now().Add(time.Duration(duration) * time.Second)}
	key, secret := "ASIA"+randomID(16), randomID(40)
	s.Account(ss.account) // the account exists from now on, for tests to inspect
	s.mu.Lock()
	s.sessions[key] = ss
	s.assumed[arn]++
	s.mu.Unlock()
	return assumeRoleResult{
		Credentials: xmlCredentials{AccessKeyId: key, SecretAccessKey: secret, SessionToken: ss.token, Expiration: ss.expires.Format(time.RFC3339)},
		AssumedRoleUser: xmlAssumedRoleUser{
			AssumedRoleId: "AROA" + randomID(17) + ":" + name,
			Arn:           ss.arn(),
		},
	}, nil
}

type assumeRoleResult struct {
	Credentials     xmlCredentials
	AssumedRoleUser xmlAssumedRoleUser
}

type xmlCredentials struct {
	AccessKeyId     string
	SecretAccessKey string
	SessionToken    string
	Expiration      string
}

type xmlAssumedRoleUser struct {
	AssumedRoleId string
	Arn           string
}
