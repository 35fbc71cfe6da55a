// Package localtest starts an iamlocal endpoint for a test and points the
// AWS SDK's environment at it, the way every mfabulk test that talks to
// IAM over HTTP begins.
package localtest

import (
	"path/filepath"
	"testing"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
)

// Start runs an iamlocal account for the test's lifetime and calls
// [UseEndpoint] with its URL.
func Start(t testing.TB, opts iamlocal.Options) (*iamlocal.Server, string) {
	t.Helper()
	srv := iamlocal.New(opts)
	url, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	UseEndpoint(t, url)
	return srv, url
}

// UseEndpoint sets, for the test, MFABULK_ENDPOINT_URL to url, dummy
// credentials (local endpoints accept any), us-east-1, and no shared AWS
// config, so that nothing from the machine's own AWS setup leaks in.
func UseEndpoint(t testing.TB, url string) {
	t.Helper()
	absent := filepath.Join(t.TempDir(), "absent")
	for k, v := range map[string]string{
		"MFABULK_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_REGION": "us-east-1", "AWS_CONFIG_FILE": absent, "AWS_SHARED_CREDENTIALS_FILE": absent,
		"AWS_PROFILE": "", "AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_IAM": "",
	} {
		t.Setenv(k, v)
	}
}
