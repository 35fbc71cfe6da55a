package iamclient

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestStoreConfigReadsBodiesAfterTheCall: an S3 GetObject returns once
// the headers are in, and its body is read after. The call timeout ends
// the call's context when the call returns, which cut every body still
// on the wire ("context canceled" on the first plan that read an outfile
// from the store); the store's configuration has no call timeout.
func TestStoreConfigReadsBodiesAfterTheCall(t *testing.T) {
	body := []byte("age-encryption.org/v1\n-> X25519 sealed bytes\n")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		time.Sleep(50 * time.Millisecond) // the body comes after the call returned
		w.Write(body)
	}))
	defer srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/absent")
	cfg, err := StoreConfig(context.Background(), Options{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint, o.UsePathStyle = aws.String(srv.URL), true })
	out, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("bucket"), Key: aws.String("out/alice.png.age")})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	got, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("reading the object's body after GetObject returned: %v", err)
	}
	if string(got) != string(body) {
		t.Fatalf("body %q, want %q", got, body)
	}
}
