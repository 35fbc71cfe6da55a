package iamclient_test

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/aws/iamlocal/localtest"
)

// noCredentials clears every source of AWS credentials the SDK looks at.
func noCredentials(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	localtest.UseEndpoint(t, "http://127.0.0.1:9")
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": empty,
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

// TestNoCredentials: with no credentials anywhere, the error says so, where
// they are looked for, and how to provide some, instead of the SDK's chain
// of provider errors.
func TestNoCredentials(t *testing.T) {
	noCredentials(t)
	c, err := iamclient.New(context.Background(), iamclient.Options{EndpointURL: "http://127.0.0.1:9", MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Account(context.Background())
	if !errors.Is(err, iamclient.ErrNoCredentials) {
		t.Fatalf("got %v, want ErrNoCredentials", err)
	}
	msg := err.Error()
	for _, want := range []string{"no AWS credentials found", "AWS_ACCESS_KEY_ID", "AWS_PROFILE", "SSO", "instance metadata"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
}

// TestNotIAM: an endpoint that answers with an HTML page is named, with
// its status, rather than reported as an XML syntax error.
func TestNotIAM(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotImplemented)
		fmt.Fprint(w, "<html><body><h1>501 Not Implemented</h1><br></body></html>")
	}))
	defer srv.Close()
	localtest.UseEndpoint(t, srv.URL)
	c, err := iamclient.New(context.Background(), iamclient.Options{EndpointURL: srv.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Account(context.Background())
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !strings.Contains(msg, srv.URL) || !strings.Contains(msg, "HTTP 501") || !strings.Contains(msg, "does not speak IAM") || strings.Contains(msg, "XML syntax") {
		t.Fatalf("error %q: want the URL, HTTP 501 and \"does not speak IAM\", not an XML syntax error", msg)
	}
}

// TestSDKLogSilent: the SDK's own log lines (here "failed to discard
// remaining HTTP response body", from an answer cut short) are not
// written to stderr unless --debug asks for a log.
func TestSDKLogSilent(t *testing.T) {
	const body = `<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/a</Arn><UserId>A</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)+100))
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, body)
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer srv.Close()
	localtest.UseEndpoint(t, srv.URL)

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	defer func() { os.Stderr = stderr }()
	c, err := iamclient.New(context.Background(), iamclient.Options{EndpointURL: srv.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, _, _ = c.Account(context.Background())
	os.Stderr = stderr
	w.Close()
	out, _ := io.ReadAll(r)
	if len(out) > 0 {
		t.Fatalf("the SDK wrote to stderr:\n%s", out)
	}
}

// TestCABundle: a TLS-intercepting proxy's certificate, given as a CA
// bundle file, is trusted; without it the call fails.
func TestCABundle(t *testing.T) {
	const body = `<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/a</Arn><UserId>A</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, body)
	}))
	defer srv.Close()
	localtest.UseEndpoint(t, srv.URL)
	t.Setenv("AWS_CA_BUNDLE", "")
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := iamclient.New(context.Background(), iamclient.Options{EndpointURL: srv.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Account(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without the bundle: %v, want a certificate error", err)
	}
	c, err = iamclient.New(context.Background(), iamclient.Options{EndpointURL: srv.URL, MaxAttempts: 1, CABundle: bundle})
	if err != nil {
		t.Fatal(err)
	}
	if account, _, err := c.Account(context.Background()); err != nil || account != "123456789012" {
		t.Fatalf("with the bundle: %q, %v", account, err)
	}
	_, err = iamclient.New(context.Background(), iamclient.Options{EndpointURL: srv.URL, CABundle: filepath.Join(t.TempDir(), "absent.pem")})
	if err == nil || !strings.Contains(err.Error(), "CA bundle") {
		t.Fatalf("absent bundle: %v", err)
	}
}
