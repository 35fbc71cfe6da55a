package iamclient_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
)

// unconnectable returns a loopback URL whose connects hang: a listener
// with a backlog of 0 that never accepts, its one queue slot taken. Linux
// drops the SYNs past a full accept queue, so a client waits for the
// handshake as it would for a filtered host, without a packet leaving
// the machine.
func unconnectable(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	filler, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { filler.Close() })
	if c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond); err == nil {
		c.Close()
		t.Skip("this kernel completes connections past a full accept queue; the connect timeout is covered by TestTimeoutsReachTheSDK")
	}
	return "http://" + addr
}

// TestConnectTimeout: an endpoint that never completes the TCP handshake
// ends the call with a TimeoutError naming the connect timeout.
func TestConnectTimeout(t *testing.T) {
	url := unconnectable(t)
	c := timeoutClient(t, url, iamclient.Options{MaxAttempts: 2, ConnectTimeout: 500 * time.Millisecond, CallTimeout: 30 * time.Second})
	err := within(t, func() error { _, err := c.ListDevices(context.Background()); return err })
	var te *iamclient.TimeoutError
	if !errors.As(err, &te) || te.Kind != iamclient.ConnectTimeout {
		t.Fatalf("err = %v, want a connect timeout", err)
	}
	want := "iam:ListVirtualMFADevices: could not connect to " + url + " within --connect-timeout 500ms (2 attempts)"
	if err.Error() != want {
		t.Errorf("error:\n got %s\nwant %s", err, want)
	}
}
