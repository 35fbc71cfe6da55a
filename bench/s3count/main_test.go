package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
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

// TestProxy forwards to the target with the Host header the client sent
// (what it signed), and counts each request by operation and status.
func TestProxy(t *testing.T) {
	var hosts []string
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hosts = append(hosts, r.Host)
		if r.Header.Get("If-None-Match") == "*" && r.URL.Path == "/b/exists" {
			w.WriteHeader(http.StatusPreconditionFailed)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer target.Close()
	u, _ := url.Parse(target.URL)
	c, h := proxy(u, 0)
	front := httptest.NewServer(h)
	defer front.Close()
	for _, p := range []string{"/b/new", "/b/exists"} {
		req, _ := http.NewRequest(http.MethodPut, front.URL+p, strings.NewReader("x"))
		req.Header.Set("If-None-Match", "*")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	got := c.snapshot()
	if got.Total != 2 || got.ByOp["PutObject(If-None-Match)"] != 2 {
		t.Errorf("counts %+v, want 2 PutObject(If-None-Match)", got)
	}
	if s := got.ByStatus["PutObject(If-None-Match)"]; s["200"] != 1 || s["412"] != 1 {
		t.Errorf("statuses %v, want one 200 and one 412", s)
	}
	if want := strings.TrimPrefix(front.URL, "http://"); len(hosts) != 2 || hosts[0] != want {
		t.Errorf("the target saw Host %v, want %s (the signed one)", hosts, want)
	}
	if len(got.PerSecond) == 0 || got.PerSecond[0] != 2 {
		t.Errorf("per second %v, want [2]", got.PerSecond)
	}
}
