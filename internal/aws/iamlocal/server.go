// Package iamlocal is a local IAM endpoint for mfabulk's demo and tests.
//
// It speaks IAM's real wire protocol (AWS Query: form-encoded POST in, XML
// out, ErrorResponse XML with IAM's error codes and HTTP statuses) for the
// virtual MFA device calls mfabulk makes, IAM users and the enabling of
// devices for them (EnableMFADevice checks the two codes, users.go), plus
// STS GetCallerIdentity and AssumeRole, so the real aws-sdk-go-v2 client, the AWS CLI and
// boto3 can all talk to it.
// Like IAM it returns a device's seed only once, in the create response,
// and its QRCodePNG is a real QR code of the otpauth:// URI.
//
// Start one with [New] and [Server.Listen]. Tests reach into it with
// [Server.Device] to compare outfiles with what was issued (and to compute
// codes from a device's seed), [Server.CreateUser] and [Server.User] for
// users, and [Server.Fail] to make a call fail.
//
// A server is one account, and holds others: AssumeRole's temporary
// credentials act in the role's account ([Options.Roles], accounts.go),
// which tests reach with [Server.Account].
package iamlocal

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mfabulk/mfabulk/internal/device"
)

// DefaultAccount is the account ID the endpoint pretends to be.
const DefaultAccount = "123456789012"

// Options configure a [Server].
type Options struct {
	Account    string // account ID; DefaultAccount when empty
	MaxDevices int    // VirtualMFADevicesPerAccount quota; 0 means none
	Faults     Faults // none by default
	// Now is the server's clock, against which EnableMFADevice checks
	// authentication codes and which dates users and assignments;
	// time.Now when nil. Tests set it to put the server ahead of or
	// behind the codes' clock.
	Now func() time.Time
	// Roles may be assumed with STS AssumeRole; each names its account,
	// which is made on first use with the same MaxDevices and Faults (its
	// own rate limit). AnyRole accepts any role ARN without an external
	// ID, making its account on first use: for tests of many accounts.
	Roles   []Role
	AnyRole bool
}

// Server is an in-memory IAM account. It is safe for concurrent use.
type Server struct {
	opts    Options
	account string
	reqSeq  atomic.Int64
	serving atomic.Int64 // requests being answered now: WaitIdle

	mu       sync.Mutex
	devices  map[string]*Device // by lower-case name: IAM names ignore case
	failures map[string]string  // device name → error code to answer with
	issued   []Device           // every device ever created, for leak scans
	users    map[string]*User   // by lower-case name: IAM names ignore case
	groups   map[string]*group  // by lower-case name, made on first use: groups.go
	used     map[*Device]int64  // a device's last accepted code step: users.go
	requests map[string]int     // action → count
	faults   *faults
	stats    *perSecond          // answers by the second: stats.go
	accounts map[string]*Server  // other accounts, by ID: accounts.go
	roles    map[string]Role     // by ARN
	sessions map[string]*session // AssumeRole's credentials, by access key ID
	assumed  map[string]int      // role ARN → AssumeRole calls granted: AssumedRoles

	httpSrv   *http.Server
	closing   chan struct{} // closed by Close, to release held requests
	closeOnce sync.Once
}

// New returns an empty account.
func New(opts Options) *Server {
	account := opts.Account
	if account == "" {
		account = DefaultAccount
	}
	s := &Server{
		opts:     opts,
		account:  account,
		devices:  map[string]*Device{},
		users:    map[string]*User{},
		used:     map[*Device]int64{},
		failures: map[string]string{},
		requests: map[string]int{},
		faults:   newFaults(opts.Faults),
		stats:    newPerSecond(time.Now),
		closing:  make(chan struct{}),
		accounts: map[string]*Server{},
		roles:    map[string]Role{},
		sessions: map[string]*session{},
		assumed:  map[string]int{},
	}
	for _, r := range opts.Roles {
		s.roles[r.ARN] = r
	}
	s.addUser(callerName, "/", callerID) // the caller: users.go
	return s
}

// Listen serves on addr (use "127.0.0.1:0" for a free port) in the
// background and returns the endpoint URL.
func (s *Server) Listen(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	s.httpSrv = &http.Server{Handler: s}
	go s.httpSrv.Serve(ln)
	return "http://" + ln.Addr().String(), nil
}

// WaitIdle waits, up to timeout, until no request has been in hand for
// 50 ms, and says whether it got there. A client killed mid-request
// leaves its request to the server, which (as IAM does) still answers and
// may commit it after the client is gone: a test that inspects the
// account after killing mfabulk waits for those first.
func (s *Server) WaitIdle(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	quiet := time.Time{}
	for time.Now().Before(deadline) {
		switch {
		case s.serving.Load() != 0:
			quiet = time.Time{}
		case quiet.IsZero():
			quiet = time.Now()
		case time.Since(quiet) >= 50*time.Millisecond:
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

// Close stops serving. Requests held by a hang fault are dropped first,
// so that Close does not wait for them forever.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.closing) })
	if s.httpSrv == nil {
		return nil
	}
	return s.httpSrv.Shutdown(context.Background())
}

type handler func(s *Server, form formValues) (any, *APIError)

var handlers = map[string]handler{
	"CreateVirtualMFADevice": (*Server).handleCreate,
	"ListVirtualMFADevices":  (*Server).handleList,
	"DeleteVirtualMFADevice": (*Server).handleDelete,
	"TagMFADevice":           (*Server).handleTag,
	"UntagMFADevice":         (*Server).handleUntag,
	"ListMFADeviceTags":      (*Server).handleListTags,
	"GetCallerIdentity":      (*Server).handleCallerIdentity,
	"AssumeRole":             nil, // answered by the server holding the roles: serve
	"CreateUser":             (*Server).handleCreateUser,
	"GetUser":                (*Server).handleGetUser,
	"ListUsers":              (*Server).handleListUsers,
	"EnableMFADevice":        (*Server).handleEnable,
	"DeactivateMFADevice":    (*Server).handleDeactivate,
	"ListMFADevices":         (*Server).handleListMFADevices,
	"GetGroup":               (*Server).handleGetGroup,
}

// ServeHTTP answers one AWS Query request, in the account of the
// credentials that signed it (see [Server.Account]).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.serving.Add(1)
	defer s.serving.Add(-1)
	s.stats.arrive()
	defer s.stats.leave()
	requestID := fmt.Sprintf("00000000-0000-4000-8000-%012d", s.reqSeq.Add(1))
	// The Date header is the server's clock, as with IAM: clients compute
	// EnableMFADevice's codes from it, and tests move it (Options.Now).
	w.Header().Set("Date", s.now().Format(http.TimeFormat))
	if err := r.ParseForm(); err != nil {
		writeError(w, Errorf("InvalidInput", "malformed request: %v", err), requestID)
		return
	}
	target, ss, apiErr := s.route(r)
	if apiErr != nil {
		writeError(w, apiErr, requestID)
		return
	}
	target.serve(w, r, requestID, s, ss)
}

// serve answers a request in account s; root is the server that holds
// the roles, and ss the session of temporary credentials (nil for the
// server's own long-term keys).
func (s *Server) serve(w http.ResponseWriter, r *http.Request, requestID string, root *Server, ss *session) {
	action := r.Form.Get("Action")
	s.mu.Lock()
	s.requests[action]++
	f := s.faults
	s.mu.Unlock()
	h, ok := handlers[action]
	if action == "" {
		writeError(w, Errorf("MissingAction", "Missing Action"), requestID)
		return
	}
	if !ok {
		writeError(w, Errorf("InvalidAction", "Could not find operation %s for version 2010-05-08", action), requestID)
		return
	}
	switch action {
	case "AssumeRole":
		caller := device.UserARN("", s.account, "/", callerName)
		if ss != nil {
			caller = ss.arn()
		}
		h = func(*Server, formValues) (any, *APIError) { return root.handleAssumeRole(formValues(r.Form), caller) }
	case "GetCallerIdentity":
		if ss != nil {
			h = func(*Server, formValues) (any, *APIError) {
				return callerIdentityResult{Arn: ss.arn(), UserId: "AROAIAMLOCAL:" + ss.name, Account: s.account}, nil
			}
		}
	}
	if f.hangs(action, "Hang", f.cfg.Hang) {
		hang(w, r, s.closing)
		return
	}
	// The latency is slept in before, with no lock held: independent
	// requests are served in parallel, as by IAM.
	if apiErr := f.before(action); apiErr != nil {
		s.stats.add(apiErr.Code == "Throttling", false)
		writeError(w, apiErr, requestID)
		return
	}
	result, apiErr := s.audited(r, action, h) // h, recording creates and deletes: audit.go
	if apiErr != nil {
		s.stats.add(false, false)
		writeError(w, apiErr, requestID)
		return
	}
	if f.dropAfter(action) {
		drop(w)
		return
	}
	if mutating[action] && f.hangs(action, "HangAfterCommit", f.cfg.HangAfterCommit) {
		hang(w, r, s.closing)
		return
	}
	s.stats.add(false, action == "CreateVirtualMFADevice")
	ns := iamNS
	if action == "GetCallerIdentity" || action == "AssumeRole" {
		ns = stsNS
	}
	writeResult(w, action, ns, result, requestID)
}

// Device returns a copy of the named device (any case), with the secret it
// was issued.
func (s *Server) Device(name string) (Device, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[strings.ToLower(name)]
	if !ok {
		return Device{}, false
	}
	return *d, true
}

// Devices returns copies of every device, in serial order.
func (s *Server) Devices() []Device {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Device
	for _, d := range s.sorted() {
		out = append(out, *d)
	}
	return out
}

// CreateDevice adds a device as if some other tool had created it; its
// secret went to that tool, so no QR code is rendered.
func (s *Server) CreateDevice(name, path string, tags ...Tag) error {
	seed, _, _ := s.secret(name, false)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.create(name, path, tags, seed, nil); err != nil {
		return err
	}
	return nil
}

// Assign marks a device as enabled for user, as EnableMFADevice would
// without its codes and checks; a user that does not exist yet is created
// at path "/".
func (s *Server) Assign(name, user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[strings.ToLower(name)]
	if !ok {
		return Errorf("NoSuchEntity", "VirtualMFADevice %s doesn't exist.", name)
	}
	u, ok := s.users[strings.ToLower(user)]
	if !ok {
		u = s.addUser(user, "/", "")
	}
	d.User, d.EnableDate = u.Name, s.now()
	return nil
}

// SetTags replaces a device's tags, as if someone changed them by hand.
func (s *Server) SetTags(name string, tags ...Tag) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[strings.ToLower(name)]
	if !ok {
		return Errorf("NoSuchEntity", "VirtualMFADevice %s doesn't exist.", name)
	}
	d.Tags = append([]Tag(nil), tags...)
	return nil
}

// Issued returns every device ever created, deleted ones included, with
// the secrets they were issued: what a leak scan must look for.
func (s *Server) Issued() []Device {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Device(nil), s.issued...)
}

// Fail makes every later call naming device name (create, delete, tag,
// enable and deactivate calls) answer with the IAM error code; an empty
// code clears it.
func (s *Server) Fail(name, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == "" {
		delete(s.failures, strings.ToLower(name))
		return
	}
	s.failures[strings.ToLower(name)] = code
}

// Requests returns how many requests each action received.
func (s *Server) Requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.requests)
}

// injected returns the error configured with Fail for a device; the caller
// holds s.mu.
func (s *Server) injected(name string) *APIError {
	code, ok := s.failures[strings.ToLower(name)]
	if !ok {
		return nil
	}
	return Errorf(code, "injected failure for device %s", name)
}
