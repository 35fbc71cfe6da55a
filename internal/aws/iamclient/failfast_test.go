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
// listening, plain HTTP behind an https:// URL, and a port that speaks
// another protocol (it took 10 attempts and 122 s). A port that closes
// every connection without an answer gets three attempts (it took ten,
// 112 s).
func TestUnreachableEndpointFailsFast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	plainHTTP := httptest.NewServer(http.NotFoundHandler())
	defer plainHTTP.Close()
	// port serves each connection of a loopback port with serve, then
	// closes it.
	port := func(serve func(net.Conn)) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				serve(conn)
				conn.Close()
			}
		}()
		return "http://" + ln.Addr().String()
	}
	readRequest := func(conn net.Conn) { conn.Read(make([]byte, 4096)) }
	// A port of another service: it greets in its own protocol, as sshd
	// does, whatever the client sends, and waits for the client's.
	other := port(func(conn net.Conn) {
		conn.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n"))
		readRequest(conn)
	})
	// Ports that close every connection without an answer: at once, and
	// after reading the request.
	closesAtOnce := port(func(net.Conn) {})
	closesAfterRequest := port(readRequest)
	for _, tc := range []struct {
		name, url, why string
		attempts       int
	}{
		// attempts: the most the first call may make.
		{"connection refused", closed, "nothing is listening there (connection refused)", 1},
		{"http behind https", strings.Replace(plainHTTP.URL, "http://", "https://", 1), "it does not speak TLS", 1},
		// A greeting before the request is written makes net/http drop
		// the connection at times ("unsolicited response"): such an
		// attempt reads as one closed without an answer.
		{"another protocol", other, "it does not speak HTTP|it closed the connection without an answer", 3},
		{"closed at once", closesAtOnce, "it closed the connection without an answer (3 attempts", 3},
		{"closed after the request", closesAfterRequest, "it closed the connection without an answer (3 attempts", 3},
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
			why := false
			for _, w := range strings.Split(tc.why, "|") {
				why = why || strings.Contains(err.Error(), w)
			}
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), "cannot reach "+tc.url) || !why {
				t.Fatalf("got %v, want an UnreachableError naming %s: %s\n%s", err, tc.url, tc.why, debug.String())
			}
			if n := strings.Count(debug.String(), "GetCallerIdentity"); n > tc.attempts || n < 1 {
				t.Errorf("%d attempts, want 1 to %d:\n%s", n, tc.attempts, debug.String())
			}
		})
	}
}
