package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// countingProxy is a reverse proxy in front of WordPress that records every
// request wpbridge sends there.
type countingProxy struct {
	ts *httptest.Server

	mu     sync.Mutex
	labels []string
}

func newCountingProxy(target string) (*countingProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("proxy target: %w", err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{
		Proxy:               nil,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     30 * time.Second,
	}
	// In-flight requests are cut when a wpbridge is killed; that is expected.
	rp.ErrorLog = log.New(io.Discard, "", 0)
	p := &countingProxy{}
	p.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.labels = append(p.labels, wpLabel(r))
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	return p, nil
}

// URL is the proxy's base URL, used as wpbridge's WP_URL.
func (p *countingProxy) URL() string { return p.ts.URL }

// Close stops the proxy.
func (p *countingProxy) Close() { p.ts.Close() }

// Take returns the labels recorded since the last Take and forgets them.
func (p *countingProxy) Take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.labels
	p.labels = nil
	return out
}

// wpLabel names a WordPress request without ids or values:
// "GET users?search", "GET by-meta", "POST users", "POST users/{id}".
func wpLabel(r *http.Request) string {
	route := r.URL.Path
	if rr := r.URL.Query().Get("rest_route"); rr != "" {
		route = rr
	}
	route = strings.TrimPrefix(route, "/wp-json")
	route = strings.TrimPrefix(route, "/wp/v2/")
	route = strings.TrimPrefix(route, "/wpbridge/v1/users/")
	route = digits.ReplaceAllString(route, "{id}")
	if r.Method == http.MethodGet && route == "users" && r.URL.Query().Has("search") {
		route += "?search"
	}
	return r.Method + " " + route
}
