package iamlocal

import (
	"github.com/mfabulk/mfabulk/internal/device"

	"crypto/rand"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/mfabulk/mfabulk/internal/totp"
)

// The caller: every request is made as this user, as GetCallerIdentity
// says, and calls that default to the caller (GetUser, ListMFADevices and
// DeactivateMFADevice without UserName) use it.
const (
	callerName = "iamlocal"
	callerID   = "AIDAIAMLOCAL"
)

// MaxMFADevicesPerUser is IAM's quota of MFA devices a user can have
// enabled; one more gets LimitExceeded.
const MaxMFADevicesPerUser = 8

// codeWindow is how many 30-second steps, either side of the server's
// clock, the second of EnableMFADevice's two codes may be from: enough for
// a person's typing and some clock skew, not for codes read minutes ago.
const codeWindow = 2

var (
	userNameRE   = regexp.MustCompile(`^[\w+=,.@-]+$`)
	serialRE     = regexp.MustCompile(`^[\w+=/:,.@-]+$`)
	pathPrefixRE = regexp.MustCompile(`^/[\x21-\x7E]*$`)
)

// User is an IAM user held by the endpoint.
type User struct {
	Name       string
	Path       string
	ID         string // "AIDA…", as IAM's user IDs begin
	Arn        string // arn:aws:iam::ACCOUNT:user/PATH/NAME
	CreateDate time.Time
	Tags       []Tag
	// Hardware are the serial numbers of the user's MFA devices that are
	// not virtual (hardware TOTP tokens, U2F and FIDO security keys):
	// ListMFADevices lists them and they count to IAM's limit of devices
	// per user, but ListVirtualMFADevices does not show them.
	Hardware []string
}

// now is the server's clock, to the second, in UTC, as IAM's dates are.
func (s *Server) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now().UTC().Truncate(time.Second)
	}
	return time.Now().UTC().Truncate(time.Second)
}

// newUserID is "AIDA" and 17 random characters, the shape of IAM's IDs.
func newUserID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, 17)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[b[i]%32]
	}
	return "AIDA" + string(b)
}

// addUser adds a user without checking anything; id "" makes a new one.
// The caller holds s.mu, or is New.
func (s *Server) addUser(name, path, id string) *User {
	if id == "" {
		id = newUserID()
	}
	u := &User{Name: name, Path: path, ID: id, Arn: device.UserARN("", s.account, path, name), CreateDate: s.now()}
	s.users[strings.ToLower(name)] = u
	return u
}

func validateUserName(param, name string) *APIError {
	if len(name) < 1 || len(name) > 64 || !userNameRE.MatchString(name) {
		return Errorf("ValidationError", "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length between 1 and 64", name, param)
	}
	return nil
}

// createUser is CreateUser; the caller holds s.mu.
func (s *Server) createUser(name, path string, tags []Tag) (*User, *APIError) {
	if path == "" {
		path = "/"
	}
	if err := validateUserName("userName", name); err != nil {
		return nil, err
	}
	if err := validatePath(path); err != nil {
		return nil, err
	}
	if err := validateTags(tags); err != nil {
		return nil, err
	}
	if _, ok := s.users[strings.ToLower(name)]; ok {
		return nil, Errorf("EntityAlreadyExists", "User with name %s already exists.", name)
	}
	u := s.addUser(name, path, "")
	u.Tags = tags
	return u, nil
}

// CreateUser adds a user as CreateUser would (path "" is "/").
func (s *Server) CreateUser(name, path string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.createUser(name, path, nil); err != nil {
		return err
	}
	return nil
}

// AddHardwareMFA enables a hardware or FIDO MFA device, by its serial
// number, for the named user, as a person would with EnableMFADevice (its
// codes are not modelled); LimitExceeded at IAM's limit.
func (s *Server) AddHardwareMFA(user, serial string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.user(user)
	if err != nil {
		return err
	}
	if s.mfaCount(u) >= MaxMFADevicesPerUser {
		return Errorf("LimitExceeded", "Cannot exceed quota for MFADevicesPerUser: %d", MaxMFADevicesPerUser)
	}
	u.Hardware = append(u.Hardware, serial)
	return nil
}

// DeleteUser deletes the named user, as a person would between a plan and
// its apply; as IAM does, it refuses a user who still has an MFA device
// (DeleteConflict).
func (s *Server) DeleteUser(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.user(name)
	if err != nil {
		return err
	}
	if s.mfaCount(u) > 0 {
		return Errorf("DeleteConflict", "Cannot delete entity, must delete MFA device first.")
	}
	delete(s.users, strings.ToLower(u.Name))
	return nil
}

// User returns a copy of the named user (any case).
func (s *Server) User(name string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[strings.ToLower(name)]
	if !ok {
		return User{}, false
	}
	c := *u
	c.Tags = append([]Tag(nil), u.Tags...)
	c.Hardware = append([]string(nil), u.Hardware...)
	return c, true
}

// user finds the user a call names, or the caller when it names none; the
// caller holds s.mu.
func (s *Server) user(name string) (*User, *APIError) {
	if name == "" {
		name = callerName
	} else if err := validateUserName("userName", name); err != nil {
		return nil, err
	}
	u, ok := s.users[strings.ToLower(name)]
	if !ok {
		return nil, Errorf("NoSuchEntity", "The user with name %s cannot be found.", name)
	}
	return u, nil
}

// xmlUserOf is the User element of an assigned device's listing; the
// caller holds s.mu.
func (s *Server) xmlUserOf(name string) *xmlUser {
	u, ok := s.users[strings.ToLower(name)]
	if !ok { // not reachable: a user with a device cannot be deleted
		u = &User{Name: name, Path: "/", ID: "AIDA" + strings.ToUpper(name), Arn: device.UserARN("", s.account, "/", name)}
	}
	return u.xml()
}

func (u *User) xml() *xmlUser {
	return &xmlUser{Path: u.Path, UserName: u.Name, UserId: u.ID, Arn: u.Arn, CreateDate: u.CreateDate.Format(time.RFC3339)}
}

type xmlTaggedUser struct {
	xmlUser
	Tags *xmlTags `xml:",omitempty"`
}

type userResult struct {
	User xmlTaggedUser
}

type listUsersResult struct {
	Users struct {
		Members []xmlUser `xml:"member"`
	}
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

type xmlMFADevice struct {
	UserName     string
	SerialNumber string
	EnableDate   string
}

type listMFADevicesResult struct {
	MFADevices struct {
		Members []xmlMFADevice `xml:"member"`
	}
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

func (u *User) tagged() xmlTaggedUser {
	x := xmlTaggedUser{xmlUser: *u.xml()}
	if len(u.Tags) > 0 {
		x.Tags = toXMLTags(u.Tags)
	}
	return x
}

func (s *Server) handleCreateUser(f formValues) (any, *APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.createUser(f.get("UserName"), f.get("Path"), f.tags())
	if err != nil {
		return nil, err
	}
	return userResult{User: u.tagged()}, nil
}

func (s *Server) handleGetUser(f formValues) (any, *APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.user(f.get("UserName"))
	if err != nil {
		return nil, err
	}
	return userResult{User: u.tagged()}, nil
}

func (s *Server) handleListUsers(f formValues) (any, *APIError) {
	prefix := f.get("PathPrefix")
	if prefix == "" {
		prefix = "/"
	}
	if len(prefix) > 512 || !pathPrefixRE.MatchString(prefix) {
		return nil, Errorf("ValidationError", "1 validation error detected: Value '%s' at 'pathPrefix' failed to satisfy constraint: Member must satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*", prefix)
	}
	s.mu.Lock()
	var all []xmlUser
	for _, u := range s.users {
		if strings.HasPrefix(u.Path, prefix) {
			all = append(all, *u.xml())
		}
	}
	s.mu.Unlock()
	// IAM lists users by name; names are unique ignoring case.
	key := func(u xmlUser) string { return strings.ToLower(u.UserName) }
	sort.Slice(all, func(i, j int) bool { return key(all[i]) < key(all[j]) })
	items, next, err := page(f, all, key)
	if err != nil {
		return nil, err
	}
	res := listUsersResult{IsTruncated: next != "", Marker: next}
	res.Users.Members = items
	return res, nil
}

// mfaDevices lists the devices enabled for user u; the caller holds s.mu.
func (s *Server) mfaDevices(u *User) []*Device {
	var out []*Device
	for _, d := range s.sorted() {
		if strings.EqualFold(d.User, u.Name) {
			out = append(out, d)
		}
	}
	return out
}

// mfaCount counts every MFA device enabled for user u, virtual or not;
// the caller holds s.mu.
func (s *Server) mfaCount(u *User) int { return len(s.mfaDevices(u)) + len(u.Hardware) }

func validateSerial(serial string) *APIError {
	if len(serial) < 9 || len(serial) > 256 || !serialRE.MatchString(serial) {
		return Errorf("ValidationError", "1 validation error detected: Value '%s' at 'serialNumber' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=/:,.@-]+ and have length between 9 and 256", serial)
	}
	return nil
}

func validateCode(param, code string) *APIError {
	if len(code) != totp.Digits || strings.Trim(code, "0123456789") != "" {
		// The message does not echo the code, as IAM's does not.
		return Errorf("ValidationError", "1 validation error detected: Value at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\d]+ and have length %d", param, totp.Digits)
	}
	return nil
}

// codeRequest is what EnableMFADevice and ResyncMFADevice both take: a
// user, a device's serial and two codes.
type codeRequest struct{ user, serial, code1, code2 string }

// parseCodeRequest validates a code request as IAM does, before anything
// is looked up.
func parseCodeRequest(f formValues) (codeRequest, *APIError) {
	r := codeRequest{user: f.get("UserName"), serial: f.get("SerialNumber"), code1: f.get("AuthenticationCode1"), code2: f.get("AuthenticationCode2")}
	if r.user == "" {
		return r, Errorf("ValidationError", "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null")
	}
	if err := validateSerial(r.serial); err != nil {
		return r, err
	}
	if err := validateCode("authenticationCode1", r.code1); err != nil {
		return r, err
	}
	if err := validateCode("authenticationCode2", r.code2); err != nil {
		return r, err
	}
	return r, nil
}

// userAndDevice looks up a code request's user and device; s.mu is held.
func (s *Server) userAndDevice(f formValues, r codeRequest) (*User, *Device, *APIError) {
	u, err := s.user(r.user)
	if err != nil {
		return nil, nil, err
	}
	d, err := s.lookup(f)
	if err != nil {
		return nil, nil, err
	}
	return u, d, nil
}

// handleEnable is EnableMFADevice: it assigns a device to a user once two
// consecutive codes from the device's seed prove that the person holds it.
// Its checks come in IAM's order, an assigned device before the codes, so
// that a retry with the same codes meets EntityAlreadyExists.
func (s *Server) handleEnable(f formValues) (any, *APIError) {
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
	if d.User != "" {
		return nil, Errorf("EntityAlreadyExists", "MFA Device is already in use.")
	}
	if s.mfaCount(u) >= MaxMFADevicesPerUser {
		return nil, Errorf("LimitExceeded", "Cannot exceed quota for MFADevicesPerUser: %d", MaxMFADevicesPerUser)
	}
	now := s.now()
	step, ok := totp.Match(d.Seed, r.code1, r.code2, now, codeWindow)
	if last, used := s.used[d]; !ok || (used && step <= last) {
		// Codes already accepted once are refused, as IAM refuses them:
		// seen codes must not enable a device again.
		return nil, Errorf("InvalidAuthenticationCode", "Authentication code for the MFA device is not valid.")
	}
	s.used[d] = step
	d.User, d.EnableDate = u.Name, now
	return nil, nil
}

// handleDeactivate is DeactivateMFADevice: the device must be enabled for
// the user (the caller when UserName is absent).
func (s *Server) handleDeactivate(f formValues) (any, *APIError) {
	serial := f.get("SerialNumber")
	if err := validateSerial(serial); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.user(f.get("UserName"))
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
	d.User, d.EnableDate = "", time.Time{}
	return nil, nil
}

func (s *Server) handleListMFADevices(f formValues) (any, *APIError) {
	s.mu.Lock()
	u, err := s.user(f.get("UserName"))
	var all []xmlMFADevice
	if err == nil {
		for _, d := range s.mfaDevices(u) {
			all = append(all, xmlMFADevice{UserName: d.User, SerialNumber: d.Serial, EnableDate: d.EnableDate.Format(time.RFC3339)})
		}
		for _, serial := range u.Hardware {
			all = append(all, xmlMFADevice{UserName: u.Name, SerialNumber: serial, EnableDate: u.CreateDate.Format(time.RFC3339)})
		}
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	items, next, err := page(f, all, func(d xmlMFADevice) string { return d.SerialNumber })
	if err != nil {
		return nil, err
	}
	res := listMFADevicesResult{IsTruncated: next != "", Marker: next}
	res.MFADevices.Members = items
	return res, nil
}
