// Package s3test helps tests run the S3 store against moto_server.
//
// moto's conditional writes are not atomic: its PutObject checks
// If-None-Match and If-Match, then stores the object, in a threaded
// server (moto 5.2.1, moto/s3/responses.py), so two concurrent
// conditional PUTs of one key can both succeed, which S3 never allows.
// Tests of concurrent runs put [Serial] in front of moto: requests reach
// it one at a time, and each conditional write is atomic, as on S3.
package s3test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
)

// Serial starts a proxy to target (moto_server's URL) that passes on one
// request at a time, and returns its URL; close stops it. Every client of
// a test must go through the same proxy.
func Serial(target string) (proxyURL string, close func(), err error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", nil, err
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	return srv.URL, srv.Close, nil
}
