package main

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal/localtest"
)

// actionCounter is a reverse proxy in front of an endpoint that counts
// the AWS Query requests it passes on, by Action.
type actionCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

// countActions starts a counting proxy to target and returns it with its
// URL.
func countActions(t *testing.T, target string) (*actionCounter, string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	c := &actionCounter{counts: map[string]int{}}
	proxy := httputil.NewSingleHostReverseProxy(u)
	// A request its client gave up on (the plan ends at the first
	// failed tag read) is no failure of the test.
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		c.mu.Lock()
		c.counts[form.Get("Action")]++
		c.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return c, srv.URL
}

func (c *actionCounter) get(action string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[action]
}

// TestMotoTagsNamedAtOnce is issue 22's tag read, as a new user meets it:
// a manifest that manages tags, planned against moto_server, which
// answers ListMFADeviceTags with an HTML "500 Internal Server Error"
// page. plan names the endpoint and the action it does not implement and
// says what to do, after one request a device at most, instead of
// retrying each ten times (108 s of silence) and printing an XML syntax
// error. Counted by a proxy in front of moto; no time is asserted.
func TestMotoTagsNamedAtOnce(t *testing.T) {
	moto := motoFolder(t)
	counter, proxied := countActions(t, moto)
	localtest.UseEndpoint(t, proxied)
	os.WriteFile("m.yaml", []byte("version: 1\ndefaults:\n  path: /moto/\n  tags: {team: payments}\n  recipients: ["+testKey+"]\ndevices:\n  - name: ann\n  - name: ben\n"), 0o644)
	if out, code := runInProcess("apply", "-f", "m.yaml", "--auto-approve"); code != exitOK {
		t.Fatalf("apply exited %d:\n%s", code, out)
	}
	out, code := runInProcess("plan", "-f", "m.yaml")
	if code != exitError {
		t.Fatalf("plan exited %d, want %d:\n%s", code, exitError, out)
	}
	for _, want := range []string{
		"does not implement iam:ListMFADeviceTags: it answered HTTP 500 Internal Server Error with an HTML page",
		proxied,
		"mfabulk: hint: the endpoint has no tag calls (moto_server has none): remove tags: from the manifest",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "XML syntax") || strings.Contains(out, "attempts") {
		t.Errorf("plan prints the SDK's words:\n%s", out)
	}
	if n := counter.get("ListMFADeviceTags"); n < 1 || n > 2 {
		t.Errorf("ListMFADeviceTags was sent %d times, want once a device at most (2)", n)
	}
	t.Logf("requests through the proxy: %s\n%s", fmt.Sprint(counter.counts), out)
}
