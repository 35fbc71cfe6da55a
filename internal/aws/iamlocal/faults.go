package iamlocal

import (
	"math/rand"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Faults make the endpoint misbehave the ways IAM can, reproducibly: every
// random choice comes from Seed.
type Faults struct {
	Seed int64
	// Latency is added to every request, plus up to Jitter more.
	Latency, Jitter time.Duration
	// RateLimit is a token bucket (requests a second, with Burst) past
	// which requests get Throttling "Rate exceeded", as IAM answers.
	RateLimit float64
	Burst     int
	// Probabilities, per request, of answering ServiceFailure (500) or,
	// for calls that change something, ConcurrentModification (409).
	ServiceFailure, ConcurrentModification float64
	// DropAfterCommit is the probability that a create (of a device or a
	// user), an EnableMFADevice or a DeactivateMFADevice is committed and
	// then the connection is closed without an answer: the client retries
	// and meets EntityAlreadyExists for a device whose seed it never saw
	// (or for a user, or a device already enabled), or NoSuchEntity for a
	// device already deactivated.
	DropAfterCommit float64
	// Hang is the probability that a request is read and never answered:
	// the connection is held open until the client gives up or the server
	// closes. HangAfterCommit is the probability that a call that changes
	// something (create, delete, tag, untag, enable, deactivate, create
	// user: see mutating) is committed and then held
	// the same way, so the client cannot know it took effect.
	Hang, HangAfterCommit float64
	// HangActions limits both hangs to these actions (e.g.
	// "CreateVirtualMFADevice"); empty means every action.
	HangActions []string
}

// faults is the live state of a Faults configuration.
type faults struct {
	cfg Faults

	mu       sync.Mutex
	rng      *rand.Rand
	tokens   float64
	last     time.Time
	injected map[string]int
}

func newFaults(cfg Faults) *faults {
	return &faults{cfg: cfg, rng: rand.New(rand.NewSource(cfg.Seed)), tokens: float64(cfg.Burst), injected: map[string]int{}}
}

func (f *faults) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rng.Float64() < p
}

func (f *faults) count(kind string) {
	f.mu.Lock()
	f.injected[kind]++
	f.mu.Unlock()
}

func (f *faults) delay() {
	d := f.cfg.Latency
	if f.cfg.Jitter > 0 {
		f.mu.Lock()
		d += time.Duration(f.rng.Int63n(int64(f.cfg.Jitter)))
		f.mu.Unlock()
	}
	if d > 0 {
		time.Sleep(d)
	}
}

// admit takes a token from the bucket, or reports that the request must
// be throttled.
func (f *faults) admit() bool {
	if f.cfg.RateLimit <= 0 {
		return true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	if !f.last.IsZero() {
		f.tokens += now.Sub(f.last).Seconds() * f.cfg.RateLimit
	}
	f.last = now
	if burst := float64(max(f.cfg.Burst, 1)); f.tokens > burst {
		f.tokens = burst
	}
	if f.tokens < 1 {
		return false
	}
	f.tokens--
	return true
}

// mutating are the actions that change something: they can meet
// ConcurrentModification and HangAfterCommit.
var mutating = map[string]bool{
	"CreateVirtualMFADevice": true, "DeleteVirtualMFADevice": true,
	"TagMFADevice": true, "UntagMFADevice": true,
	"EnableMFADevice": true, "DeactivateMFADevice": true, "CreateUser": true,
}

// droppable are the mutating actions that DropAfterCommit applies to.
// Deletes and tag calls are left out, so that a given Faults.Seed drops
// the same requests of the device calls as it always did.
var droppable = map[string]bool{
	"CreateVirtualMFADevice": true,
	"EnableMFADevice":        true, "DeactivateMFADevice": true, "CreateUser": true,
}

// before answers a request with an injected fault instead of serving it.
func (f *faults) before(action string) *APIError {
	f.delay()
	// AssumeRole is STS's, whose rate limits are not the account's IAM
	// ones: a run over many accounts assumes all their roles from one.
	if action != "AssumeRole" && !f.admit() {
		f.count("Throttling")
		return Errorf("Throttling", "Rate exceeded")
	}
	if f.chance(f.cfg.ServiceFailure) {
		f.count("ServiceFailure")
		return Errorf("ServiceFailure", "injected service failure")
	}
	if mutating[action] && f.chance(f.cfg.ConcurrentModification) {
		f.count("ConcurrentModification")
		return Errorf("ConcurrentModification", "injected concurrent modification")
	}
	return nil
}

// dropAfter reports whether to close the connection instead of sending a
// committed change's response.
func (f *faults) dropAfter(action string) bool {
	if !droppable[action] || !f.chance(f.cfg.DropAfterCommit) {
		return false
	}
	f.count("DropAfterCommit")
	return true
}

// hangs reports whether to hold a request of action unanswered, with
// probability p, counting it as kind.
func (f *faults) hangs(action, kind string, p float64) bool {
	if len(f.cfg.HangActions) > 0 && !slices.Contains(f.cfg.HangActions, action) {
		return false
	}
	if !f.chance(p) {
		return false
	}
	f.count(kind)
	return true
}

// hang holds the request without an answer until the client goes away or
// the server closes, then drops the connection: returning normally would
// make net/http send an empty 200.
func hang(w http.ResponseWriter, r *http.Request, closing <-chan struct{}) {
	select {
	case <-r.Context().Done():
	case <-closing:
	}
	drop(w)
}

// drop closes the client's connection without an answer.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // net/http closes the connection
}

// SetFaults replaces the fault configuration; the zero Faults is none.
func (s *Server) SetFaults(cfg Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = newFaults(cfg)
}

// Injected returns how many faults of each kind were injected.
func (s *Server) Injected() map[string]int {
	s.mu.Lock()
	f := s.faults
	s.mu.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.injected {
		out[k] = v
	}
	return out
}
