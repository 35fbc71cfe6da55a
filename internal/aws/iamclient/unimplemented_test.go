package iamclient_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal/localtest"
)

// TestUnimplementedActionIsNamedAtOnce is moto_server's answer to a tag
// read, modelled: an endpoint that speaks IAM (its first call answered)
// answers ListMFADeviceTags with an HTML "500 Internal Server Error"
// page. That is no fault of the moment: the call is made once, not ten
// times over two minutes, and its error names the endpoint and the action
// it does not implement instead of an XML syntax error.
func TestUnimplementedActionIsNamedAtOnce(t *testing.T) {
	var tagReads atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		switch r.Form.Get("Action") {
		case "GetCallerIdentity":
			w.Header().Set("Content-Type", "text/xml")
			fmt.Fprint(w, `<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/a</Arn><UserId>A</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`)
		default:
			tagReads.Add(1)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n")
		}
	}))
	defer srv.Close()
	localtest.UseEndpoint(t, srv.URL)
	// Ten attempts, as by default, with a short backoff so that the
	// unfixed client fails this test in a second rather than in two
	// minutes.
	c, err := iamclient.New(context.Background(), iamclient.Options{EndpointURL: srv.URL, MaxAttempts: 10, MaxBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Account(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err = c.ListTags(context.Background(), "arn:aws:iam::123456789012:mfa/a")
	if err == nil {
		t.Fatal("no error")
	}
	if n := tagReads.Load(); n != 1 {
		t.Errorf("ListMFADeviceTags was sent %d times, want once", n)
	}
	msg := err.Error()
	for _, want := range []string{srv.URL, "does not implement iam:ListMFADeviceTags", "HTTP 500", "an HTML page"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "XML syntax") || strings.Contains(msg, "attempts") {
		t.Errorf("error %q: the SDK's words", msg)
	}
	var ni *iamclient.NotIAMError
	if !errors.As(err, &ni) || ni.Operation != "ListMFADeviceTags" {
		t.Errorf("error %q is not a NotIAMError of ListMFADeviceTags", msg)
	}
	if !iamclient.TagsUnsupported(err) {
		t.Errorf("TagsUnsupported(%q) = false", msg)
	}
}
