package wordpress

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testAppPassword = "abcd EFGH ijkl MNOP qrst UVWX"

// fakeWP serves REST routes (the rest_route query parameter) from handlers
// keyed by "METHOD /route"; an unknown route fails the test loudly.
func fakeWP(t *testing.T, routes map[string]http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			t.Errorf("path = %q, want /", r.URL.Path)
		}
		if u, p, ok := r.BasicAuth(); !ok || u != "admin" || p != testAppPassword {
			t.Errorf("basic auth = %q, ok=%v", u, ok)
		}
		key := r.Method + " " + r.URL.Query().Get("rest_route")
		h, ok := routes[key]
		if !ok {
			t.Errorf("unexpected request %s", key)
			http.Error(w, "unexpected", http.StatusTeapot)
			return
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.URL+"/", "admin", testAppPassword)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func wpError(status int, code, msg string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, status, `{"code":"`+code+`","message":"`+msg+`","data":null}`)
	}
}

const aliceJSON = `{"id":7,"username":"alice","name":"Alice A","first_name":"Alice","last_name":"A",
	"email":"alice@example.com","url":"","description":"","nickname":"alice","roles":["customer"],
	"wpbridge_meta":{"activecampaign_tags":["a","b c"],"activecampaign_contact_id":"42"}}`

func TestClient_Transport(t *testing.T) {
	t.Parallel()
	t.Run("Timeout", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}))
		defer srv.Close()
		c, err := NewClient(srv.URL, "admin", testAppPassword, WithTimeout(50*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Users.Get(t.Context(), 1)
		var we *Error
		if !errors.As(err, &we) || we.StatusCode != 0 || !we.Temporary() || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want temporary deadline error", err)
		}
		if strings.Contains(err.Error(), "rest_route") || strings.Contains(err.Error(), srv.URL) {
			t.Errorf("message carries the URL: %s", err)
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		t.Parallel()
		c := fakeWP(t, nil)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := c.Users.Get(ctx, 1)
		var we *Error
		if !errors.Is(err, context.Canceled) || !errors.As(err, &we) || we.Temporary() {
			t.Fatalf("err = %v, want non-temporary context.Canceled", err)
		}
	})
	t.Run("Redirect", func(t *testing.T) {
		t.Parallel()
		c := fakeWP(t, map[string]http.HandlerFunc{"GET /wp/v2/users/1": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://example.com/", http.StatusMovedPermanently)
		}})
		_, err := c.Users.Get(t.Context(), 1)
		var we *Error
		if !errors.As(err, &we) || we.Code != CodeRedirect || we.Temporary() {
			t.Fatalf("err = %v, want permanent redirect error", err)
		}
	})
	t.Run("MaxConcurrent", func(t *testing.T) {
		t.Parallel()
		var inFlight, peak atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(20 * time.Millisecond)
			writeJSON(w, 200, aliceJSON)
		}))
		defer srv.Close()
		c, err := NewClient(srv.URL, "admin", testAppPassword, WithMaxConcurrent(2))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				if _, err := c.Users.Get(t.Context(), 7); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if p := peak.Load(); p > 2 || p < 1 {
			t.Errorf("peak concurrency = %d, want 1..2", p)
		}
	})
}

func TestNewClient(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, url, user, pass string
		ok                    bool
	}{
		{"OK", "https://example.com/blog/", "a", "p", true},
		{"NoScheme", "example.com", "a", "p", false},
		{"UserInfo", "https://u:p@example.com", "a", "p", false},
		{"NoPassword", "https://example.com", "a", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewClient(tt.url, tt.user, tt.pass)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && c.endpoint != "https://example.com/blog/" {
				t.Errorf("endpoint = %q", c.endpoint)
			}
		})
	}
}
