package iamlocal

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestHangHoldsOnlyTheChosenActionsAndCloseReleasesThem: with HangActions,
// only those requests are held (others are served), a held request gets no
// answer at all, and Close returns instead of waiting for it.
func TestHangHoldsOnlyTheChosenActionsAndCloseReleasesThem(t *testing.T) {
	s := New(Options{Faults: Faults{Hang: 1, HangActions: []string{"CreateVirtualMFADevice"}}})
	base, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	post := func(action string) (*http.Response, error) {
		return http.PostForm(base, url.Values{"Action": {action}, "VirtualMFADeviceName": {"alice"}, "Path": {"/"}})
	}
	resp, err := post("ListVirtualMFADevices")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("list: %v %v", resp, err)
	}
	resp.Body.Close()

	held := make(chan error, 1)
	go func() {
		resp, err := post("CreateVirtualMFADevice")
		if err == nil {
			resp.Body.Close()
		}
		held <- err
	}()
	for s.Injected()["Hang"] == 0 {
		select {
		case err := <-held:
			t.Fatalf("the create was answered (err %v), want it held", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close is still waiting for the held request")
	}
	if err := <-held; err == nil || !strings.Contains(err.Error(), "EOF") {
		t.Errorf("held create ended with %v, want the connection dropped without an answer", err)
	}
	if _, ok := s.Device("alice"); ok {
		t.Error("a request held by Hang was committed")
	}
}

// TestHangAfterCommitCommits: the create is committed, then held.
func TestHangAfterCommitCommits(t *testing.T) {
	s := New(Options{Faults: Faults{HangAfterCommit: 1}})
	base, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 500 * time.Millisecond}
	resp, err := client.PostForm(base, url.Values{"Action": {"CreateVirtualMFADevice"}, "VirtualMFADeviceName": {"bob"}, "Path": {"/"}})
	if err == nil {
		resp.Body.Close()
		t.Fatalf("the create was answered: %s", resp.Status)
	}
	if _, ok := s.Device("bob"); !ok || s.Injected()["HangAfterCommit"] != 1 {
		t.Errorf("device committed: %v; injected %v", ok, s.Injected())
	}
	s.Close()
}
