package activecampaign

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const testKey = "s3cret-key-123"

// testAC is an httptest server with a mux mounted under /api/3 that checks the
// Api-Token and Accept headers and counts requests.
type testAC struct {
	t   *testing.T
	mux *http.ServeMux
	srv *httptest.Server

	mu    sync.Mutex
	count int
}

func newTestAC(t *testing.T) *testAC {
	t.Helper()
	ac := &testAC{t: t, mux: http.NewServeMux()}
	root := http.NewServeMux()
	root.Handle("/api/3/", http.StripPrefix("/api/3", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ac.mu.Lock()
		ac.count++
		ac.mu.Unlock()
		if got := r.Header.Get("Api-Token"); got != testKey {
			t.Errorf("%s %s: wrong Api-Token header", r.Method, r.URL.Path)
		}
		if got := r.Header.Get("Accept"); got != "application/json" {
			t.Errorf("Accept = %q, want application/json", got)
		}
		ac.mux.ServeHTTP(w, r)
	})))
	ac.srv = httptest.NewServer(root)
	t.Cleanup(ac.srv.Close)
	return ac
}

// handle registers a Go 1.22 pattern such as "GET /contacts/{id}" answering status+body.
func (ac *testAC) handle(pattern string, status int, body string) {
	ac.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
}

func (ac *testAC) requests() int {
	ac.mu.Lock()
	defer ac.mu.Unlock()
	return ac.count
}

// fakeLimiter counts Wait calls and records pauses.
type fakeLimiter struct {
	mu     sync.Mutex
	waits  int
	pauses []time.Duration
	err    error
}

func (l *fakeLimiter) Wait(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waits++
	if l.err != nil {
		return l.err
	}
	return ctx.Err()
}

func (l *fakeLimiter) Pause(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pauses = append(l.pauses, d)
}

func (ac *testAC) client(t *testing.T, opts ...Option) (*Client, *fakeLimiter) {
	t.Helper()
	lim := &fakeLimiter{}
	c, err := NewClient(ac.srv.URL, testKey, append([]Option{WithLimiter(lim)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, lim
}

func TestNewClientValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url, key, wantErr string
	}{
		{"empty url", "", testKey, "empty base URL"},
		{"ftp", "ftp://acme.api-us1.com", testKey, "http:// or https://"},
		{"no scheme", "acme.api-us1.com", testKey, "http:// or https://"},
		{"no host", "https:///api/3", testKey, "no host"},
		{"user info", "https://u:p@acme.api-us1.com", testKey, "user info"},
		{"query", "https://acme.api-us1.com/?api_key=x", testKey, "query"},
		{"empty key", "https://acme.api-us1.com", "  ", "empty API key"},
		{"key with newline", "https://acme.api-us1.com", testKey + "\nX: y", "invalid characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewClient(tt.url, tt.key)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), testKey) || !strings.HasPrefix(err.Error(), "activecampaign: ") {
				t.Errorf("bad error text: %q", err)
			}
		})
	}
}

func TestNormalizeBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://acme.api-us1.com", "https://acme.api-us1.com/api/3"},
		{"https://acme.api-us1.com/", "https://acme.api-us1.com/api/3"},
		{"https://acme.api-us1.com/api/3", "https://acme.api-us1.com/api/3"},
		{" https://acme.api-us1.com/api/3/ ", "https://acme.api-us1.com/api/3"},
		{"http://127.0.0.1:8080/proxy/api/3", "http://127.0.0.1:8080/proxy/api/3"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := normalizeBaseURL(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("normalizeBaseURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestBaseURLWithAndWithoutAPI3(t *testing.T) {
	t.Parallel()
	ac := newTestAC(t)
	ac.handle("GET /users/me", 200, `{"user":{"username":"admin","email":"a@example.com","id":"1"}}`)
	for _, base := range []string{ac.srv.URL, ac.srv.URL + "/", ac.srv.URL + "/api/3", ac.srv.URL + "/api/3/"} {
		c, err := NewClient(base, testKey)
		if err != nil {
			t.Fatal(err)
		}
		u, err := c.Users.Me(context.Background())
		if err != nil {
			t.Fatalf("base %q: %v", base, err)
		}
		if *u != (User{ID: "1", Username: "admin", Email: "a@example.com"}) {
			t.Errorf("Me() = %+v", u)
		}
	}
}

func TestErrorClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		status      int
		header      string // Retry-After
		body        string
		is          error
		code, msg   string
		temporary   bool
		retryAfter  time.Duration
		statusInErr int
	}{
		{name: "404 simple", status: 404, body: `{"message":"No Result found for Subscriber with id 1"}`,
			is: ErrNotFound, msg: "No Result found for Subscriber with id 1", statusInErr: 404},
		{name: "404 json api", status: 404, body: `{"errors":[{"status":404,"title":"Not Found","detail":"Contact not found"}]}`,
			is: ErrNotFound, msg: "Not Found: Contact not found", statusInErr: 404},
		{name: "401", status: 401, body: `{"message":"Unauthorized"}`, is: ErrUnauthorized, msg: "Unauthorized", statusInErr: 401},
		{name: "403", status: 403, body: `{"message":"Forbidden"}`, is: ErrUnauthorized, msg: "Forbidden", statusInErr: 403},
		{name: "422 errors", status: 422, body: `{"errors":[{"title":"Email address already exists in the system","detail":"","code":"duplicate","source":{"pointer":"/data/attributes/email"}}]}`,
			code: "duplicate", msg: "Email address already exists in the system", statusInErr: 422},
		{name: "400 empty object", status: 400, body: `{}`, msg: "Bad Request", statusInErr: 400},
		{name: "402", status: 402, body: ``, msg: "Payment Required", statusInErr: 402},
		{name: "429 retry-after", status: 429, header: "7", body: `{"message":"Too Many Requests"}`,
			is: ErrRateLimited, temporary: true, retryAfter: 7 * time.Second, statusInErr: 429},
		{name: "429 no header", status: 429, is: ErrRateLimited, temporary: true, retryAfter: time.Second, statusInErr: 429},
		{name: "503 html", status: 503, body: `<html>busy</html>`, is: ErrRateLimited, temporary: true,
			retryAfter: time.Second, msg: "Service Unavailable", statusInErr: 503},
		{name: "500", status: 500, body: `oops`, temporary: true, statusInErr: 500},
		{name: "511 empty", status: 511, temporary: true, statusInErr: 511},
		{name: "200 empty", status: 200, temporary: true},
		{name: "200 empty object", status: 200, body: `{}`, temporary: true},
		{name: "200 html", status: 200, body: `<html></html>`, temporary: true},
		{name: "200 contact without id", status: 200, body: `{"contact":{"email":"a@b.c"}}`, temporary: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ac := newTestAC(t)
			ac.mux.HandleFunc("GET /contacts/{id}", func(w http.ResponseWriter, r *http.Request) {
				if tt.header != "" {
					w.Header().Set("Retry-After", tt.header)
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			})
			c, lim := ac.client(t)
			_, err := c.Contacts.Get(context.Background(), "1")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.StatusCode != tt.statusInErr || e.Method != "GET" || e.Path != "/contacts/{id}" {
				t.Errorf("StatusCode, Method, Path = %d %s %s", e.StatusCode, e.Method, e.Path)
			}
			for _, s := range []error{ErrNotFound, ErrUnauthorized, ErrRateLimited} {
				if got, want := errors.Is(err, s), s == tt.is; got != want {
					t.Errorf("errors.Is(err, %v) = %v, want %v", s, got, want)
				}
			}
			if e.Code != tt.code {
				t.Errorf("Code = %q, want %q", e.Code, tt.code)
			}
			if tt.msg != "" && e.Message != tt.msg {
				t.Errorf("Message = %q, want %q", e.Message, tt.msg)
			}
			if e.Temporary() != tt.temporary {
				t.Errorf("Temporary() = %v, want %v", e.Temporary(), tt.temporary)
			}
			if e.RetryAfter != tt.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tt.retryAfter)
			}
			wantPauses := 0
			if tt.retryAfter > 0 {
				wantPauses = 1
			}
			if len(lim.pauses) != wantPauses || (wantPauses == 1 && lim.pauses[0] != tt.retryAfter) {
				t.Errorf("limiter pauses = %v, want one of %v", lim.pauses, tt.retryAfter)
			}
			if strings.Contains(err.Error(), testKey) || !strings.HasPrefix(err.Error(), "activecampaign: GET /contacts/{id}: ") {
				t.Errorf("Error() = %q", err)
			}
		})
	}
}

func TestParseRetryAfterDate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := parseRetryAfter(now.Add(30*time.Second).Format(http.TimeFormat), now); got != 30*time.Second {
		t.Errorf("date: got %v", got)
	}
	if got := parseRetryAfter("soon", now); got != time.Second {
		t.Errorf("invalid: got %v", got)
	}
}

func TestContextAndTransportErrors(t *testing.T) {
	t.Parallel()
	ac := newTestAC(t)
	ac.mux.HandleFunc("GET /contacts/{id}", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // hang until the client gives up
	})
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()

	tests := []struct {
		name string
		run  func() error
		is   error
	}{
		{"cancelled before", func() error {
			c, _ := ac.client(t)
			_, err := c.Contacts.Get(cancelled, "1")
			return err
		}, context.Canceled},
		{"deadline during request", func() error {
			c, _ := ac.client(t)
			_, err := c.Contacts.Get(short, "1")
			return err
		}, context.DeadlineExceeded},
		{"client timeout", func() error {
			c, _ := ac.client(t, WithTimeout(50*time.Millisecond))
			_, err := c.Contacts.Get(context.Background(), "1")
			return err
		}, context.DeadlineExceeded},
		{"connection refused", func() error {
			c, err := NewClient(closed.URL, testKey)
			if err != nil {
				return err
			}
			_, err = c.Contacts.FindByEmail(context.Background(), "secret+x@example.com")
			return err
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			var e *Error
			if !errors.As(err, &e) || e.StatusCode != 0 || !e.Temporary() {
				t.Fatalf("err = %v, want temporary *Error with status 0", err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			if s := err.Error(); strings.Contains(s, "secret") || strings.Contains(s, "email=") || strings.Contains(s, testKey) {
				t.Errorf("Error() leaks the query or key: %q", s)
			}
		})
	}
}

func TestLimiterWaitErrorStopsRequest(t *testing.T) {
	t.Parallel()
	ac := newTestAC(t)
	c, lim := ac.client(t)
	lim.err = errors.New("limiter closed")
	if _, err := c.Users.Me(context.Background()); err == nil {
		t.Fatal("want error")
	}
	if n := ac.requests(); n != 0 {
		t.Errorf("requests = %d, want 0", n)
	}
}
