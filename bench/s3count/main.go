// Command s3count is make bench's S3 request counter: a reverse proxy in
// front of an S3 endpoint (moto_server) that counts what passes through it,
// so that the bench can say how many S3 requests a device costs mfabulk's
// apply and a plan, by operation, without instrumenting mfabulk itself.
//
//	s3count -target http://127.0.0.1:PORT [-addr 127.0.0.1:0] [-url-file FILE] [-out FILE] [-latency D]
//
// -latency delays each request by D before passing it on: a local
// emulator answers in a few milliseconds, S3 from a CI runner in tens, and
// only a latency shows what a client's serial calls cost.
// Point a client at it with AWS_ENDPOINT_URL_S3 (path-style addressing, as
// mfabulk uses with a custom endpoint). The Host header is passed through
// unchanged, so a request's SigV4 signature still matches. On SIGINT or
// SIGTERM it writes -out, JSON: the total, and counts by method, by S3
// operation (told from the method, the path and the query: GetObject,
// PutObject, PutObject(If-None-Match), CopyObject, ListObjectsV2, …), by
// operation and status, and the seconds the target took per operation
// (summed), which tells a slow target from a client that waits on it, and
// the requests answered in each second since the first.
// It is bench tooling, not part of mfabulk.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	target := flag.String("target", "", "`URL` of the S3 endpoint to forward to")
	addr := flag.String("addr", "127.0.0.1:0", "loopback `address` to listen on")
	urlFile := flag.String("url-file", "", "write the proxy's URL to `file` once listening")
	out := flag.String("out", "", "at exit (SIGINT, SIGTERM), write the counts to `file` as JSON (default: standard output)")
	latency := flag.Duration("latency", 0, "delay each request by `D` before passing it on, as S3's round trip from afar")
	flag.Parse()
	if err := run(*target, *addr, *urlFile, *out, *latency); err != nil {
		fmt.Fprintf(os.Stderr, "s3count: %v\n", err)
		os.Exit(1)
	}
}

func run(target, addr, urlFile, out string, latency time.Duration) error {
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("parse -target %q: want a URL such as http://127.0.0.1:5000", target)
	}
	c, h := proxy(u, latency)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	self := "http://" + ln.Addr().String()
	if urlFile != "" {
		if err := os.WriteFile(urlFile, []byte(self+"\n"), 0o644); err != nil {
			return fmt.Errorf("write the URL file: %w", err)
		}
	}
	fmt.Println(self)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-sig:
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	}
	srv.Close()
	b, err := json.MarshalIndent(c.snapshot(), "", "  ")
	if err != nil {
		return fmt.Errorf("encode the counts: %w", err)
	}
	b = append(b, '\n')
	if out == "" {
		_, err = os.Stdout.Write(b)
		return err
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		return fmt.Errorf("write the counts: %w", err)
	}
	return nil
}

// proxy forwards to target and counts. NewSingleHostReverseProxy leaves
// the request's Host header as the client sent it (the proxy's), which is
// what the client signed.
func proxy(target *url.URL, latency time.Duration) (*counter, http.Handler) {
	c := newCounter()
	p := httputil.NewSingleHostReverseProxy(target)
	p.Transport = &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second}
	if latency <= 0 {
		return c, c.wrap(p)
	}
	return c, c.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
		p.ServeHTTP(w, r)
	}))
}

// Counts is what -out holds.
type Counts struct {
	Total    int                       `json:"total"`
	ByMethod map[string]int            `json:"by_method"`
	ByOp     map[string]int            `json:"by_op"`
	ByStatus map[string]map[string]int `json:"by_op_status"`
	Seconds  map[string]float64        `json:"target_seconds_by_op"`
	// PerSecond counts the requests answered in each second, from the
	// second of the first request (FirstUnixMS).
	PerSecond   []int `json:"per_second"`
	FirstUnixMS int64 `json:"first_unix_ms"`
}

type counter struct {
	mu    sync.Mutex
	c     Counts
	first time.Time
}

func newCounter() *counter {
	return &counter{c: Counts{
		ByMethod: map[string]int{}, ByOp: map[string]int{},
		ByStatus: map[string]map[string]int{}, Seconds: map[string]float64{},
		PerSecond: []int{},
	}}
}

func (c *counter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := operation(r.Method, r.URL.Path, r.URL.Query(), r.Header)
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		next.ServeHTTP(rec, r)
		took := time.Since(start).Seconds()
		c.mu.Lock()
		defer c.mu.Unlock()
		c.c.Total++
		c.c.ByMethod[r.Method]++
		c.c.ByOp[op]++
		if c.c.ByStatus[op] == nil {
			c.c.ByStatus[op] = map[string]int{}
		}
		c.c.ByStatus[op][fmt.Sprint(rec.status)]++
		c.c.Seconds[op] += took
		if c.first.IsZero() {
			c.first = start
			c.c.FirstUnixMS = start.UnixMilli()
		}
		sec := int(time.Since(c.first) / time.Second)
		for len(c.c.PerSecond) <= sec {
			c.c.PerSecond = append(c.c.PerSecond, 0)
		}
		c.c.PerSecond[sec]++
	})
}

func (c *counter) snapshot() Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.c
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// bucketQueries name bucket-level calls by the query parameter of their
// subresource; a GET of versioning is GetBucketVersioning, a PUT
// PutBucketVersioning. The listed ones are whole names.
var bucketQueries = []struct {
	param, name string
	whole       bool
}{
	{"versioning", "BucketVersioning", false},
	{"publicAccessBlock", "PublicAccessBlock", false},
	{"encryption", "BucketEncryption", false},
	{"location", "BucketLocation", false},
	{"policy", "BucketPolicy", false},
	{"object-lock", "ObjectLockConfiguration", false},
	{"versions", "ListObjectVersions", true},
	{"uploads", "ListMultipartUploads", true},
	{"delete", "DeleteObjects", true},
}

// operation names the S3 operation of a path-style request (/BUCKET or
// /BUCKET/KEY), as far as the method, path, query and headers tell it.
func operation(method, path string, q url.Values, h http.Header) string {
	p := strings.TrimPrefix(path, "/")
	if p == "" {
		if method == http.MethodGet {
			return "ListBuckets"
		}
		return method + " /"
	}
	if _, key, _ := strings.Cut(p, "/"); key == "" {
		return bucketOperation(method, q)
	}
	cond := ""
	switch {
	case h.Get("If-None-Match") != "":
		cond = "(If-None-Match)"
	case h.Get("If-Match") != "":
		cond = "(If-Match)"
	}
	switch method {
	case http.MethodGet:
		if q.Has("versionId") {
			return "GetObject(version)"
		}
		return "GetObject" + cond
	case http.MethodHead:
		return "HeadObject" + cond
	case http.MethodPut:
		if h.Get("X-Amz-Copy-Source") != "" {
			return "CopyObject" + cond
		}
		if q.Has("tagging") {
			return "PutObjectTagging"
		}
		return "PutObject" + cond
	case http.MethodDelete:
		if q.Has("versionId") {
			return "DeleteObject(version)"
		}
		return "DeleteObject" + cond
	case http.MethodPost:
		return "PostObject"
	}
	return method + " object"
}

func bucketOperation(method string, q url.Values) string {
	for _, b := range bucketQueries {
		switch {
		case !q.Has(b.param):
			continue
		case b.whole:
			return b.name
		}
		return strings.ToUpper(method[:1]) + strings.ToLower(method[1:]) + b.name
	}
	switch method {
	case http.MethodGet:
		if q.Get("list-type") == "2" {
			return "ListObjectsV2"
		}
		return "ListObjects"
	case http.MethodHead:
		return "HeadBucket"
	case http.MethodPut:
		return "CreateBucket"
	case http.MethodDelete:
		return "DeleteBucket"
	}
	return method + " bucket"
}
