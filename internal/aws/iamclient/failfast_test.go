package iamclient_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal/localtest"
)

// A wrong endpoint fails on the first call, with one attempt, naming the
// endpoint and why, instead of ten attempts with backoff: nothing
// listening, and plain HTTP behind an https:// URL.
func TestUnreachableEndpointFailsFast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	plainHTTP := httptest.NewServer(http.NotFoundHandler())
	defer plainHTTP.Close()
	for _, tc := range []struct{ name, url, why string }{
		{"connection refused", closed, "nothing is listening there (connection refused)"},
		{"http behind https", strings.Replace(plainHTTP.URL, "http://", "https://", 1), "it does not speak TLS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			localtest.UseEndpoint(t, tc.url)
			var debug bytes.Buffer
			c, err := iamclient.New(context.Background(), iamclient.Options{EndpointURL: tc.url, Debug: &debug, MaxBackoff: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = c.Account(context.Background())
			var ue *iamclient.UnreachableError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), "cannot reach "+tc.url) || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("got %v, want an UnreachableError naming %s: %s", err, tc.url, tc.why)
			}
			if n := strings.Count(debug.String(), "GetCallerIdentity"); n != 1 {
				t.Errorf("%d attempts, want 1:\n%s", n, debug.String())
			}
		})
	}
}
