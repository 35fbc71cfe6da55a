package iamclient

import (
	"testing"
	"time"
)

// TestTimeoutsReachTheSDK checks that the timeouts are set where the SDK
// applies them: the dialer's and TLS handshake's for the connect timeout,
// the SDK's own rolling read timeout for the read timeout.
func TestTimeoutsReachTheSDK(t *testing.T) {
	b := httpClient(1234*time.Millisecond, 5678*time.Millisecond, 64)
	if got := b.GetDialer().Timeout; got != 1234*time.Millisecond {
		t.Errorf("dialer timeout %v, want 1.234s", got)
	}
	if got := b.GetTransport().TLSHandshakeTimeout; got != 1234*time.Millisecond {
		t.Errorf("TLS handshake timeout %v, want 1.234s", got)
	}
	if got, ok := b.GetReadTimeout(); !ok || got != 5678*time.Millisecond {
		t.Errorf("read timeout %v (set: %v), want 5.678s", got, ok)
	}
	if got := b.GetTransport().MaxIdleConnsPerHost; got != 64 {
		t.Errorf("idle connections kept per host %d, want 64 (the parallelism)", got)
	}
	def, err := Options{}.timeouts()
	if err != nil || def != (timeouts{DefaultConnectTimeout, DefaultReadTimeout, DefaultCallTimeout}) {
		t.Errorf("zero Options give %+v, %v; want the defaults", def, err)
	}
}
