package main

import (
	"net/http"
	"net/url"
	"testing"
)

// TestOperation names the requests mfabulk's S3 store makes as S3's
// documentation does, from path-style requests.
func TestOperation(t *testing.T) {
	for _, c := range []struct {
		method, target string
		header         map[string]string
		want           string
	}{
		{"GET", "/b?list-type=2&prefix=p%2F", nil, "ListObjectsV2"},
		{"GET", "/b?versioning", nil, "GetBucketVersioning"},
		{"PUT", "/b?versioning", nil, "PutBucketVersioning"},
		{"GET", "/b?publicAccessBlock", nil, "GetPublicAccessBlock"},
		{"GET", "/b?encryption", nil, "GetBucketEncryption"},
		{"GET", "/b?location", nil, "GetBucketLocation"},
		{"HEAD", "/b", nil, "HeadBucket"},
		{"PUT", "/b", nil, "CreateBucket"},
		{"POST", "/b?delete", nil, "DeleteObjects"},
		{"GET", "/b?versions&prefix=p", nil, "ListObjectVersions"},
		{"GET", "/b/p/out/a.png.age", nil, "GetObject"},
		{"GET", "/b/p/out/a.png.age?versionId=3", nil, "GetObject(version)"},
		{"HEAD", "/b/p/out/a.png.age", nil, "HeadObject"},
		{"PUT", "/b/p/out/a.png.age", map[string]string{"If-None-Match": "*"}, "PutObject(If-None-Match)"},
		{"PUT", "/b/p/.a.id", map[string]string{"If-Match": `"e"`}, "PutObject(If-Match)"},
		{"PUT", "/b/p/.a.id", nil, "PutObject"},
		{"PUT", "/b/p/a.replaced-1", map[string]string{"X-Amz-Copy-Source": "b/p/a", "If-None-Match": "*"}, "CopyObject(If-None-Match)"},
		{"DELETE", "/b/p/a", map[string]string{"If-Match": `"e"`}, "DeleteObject(If-Match)"},
		{"DELETE", "/b/p/a", nil, "DeleteObject"},
		{"GET", "/", nil, "ListBuckets"},
	} {
		u, err := url.Parse(c.target)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		for k, v := range c.header {
			h.Set(k, v)
		}
		if got := operation(c.method, u.Path, u.Query(), h); got != c.want {
			t.Errorf("%s %s %v: %q, want %q", c.method, c.target, c.header, got, c.want)
		}
	}
}
