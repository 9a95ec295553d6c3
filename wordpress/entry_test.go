package wordpress_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/wpbridge/wpbridge/internal/testing/wptest"
)

// TestShortEntry: wpbridge's requests (header X-WPBridge-Entry: rest) for
// the users endpoint and the plugin's routes are answered the short way
// (plugin 1.4), with the same answers and the same authentication as the
// usual way; other routes, and requests without the header, go the usual
// way.
func TestShortEntry(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	get := func(route, user, password string, marked bool) (int, string, map[string]any) {
		t.Helper()
		var hdr map[string]string
		if marked {
			hdr = map[string]string{"X-WPBridge-Entry": "rest"}
		}
		status, h, body := rawREST(t, env, http.MethodGet, route, user, password, hdr, nil)
		return status, h.Get("X-WPBridge-Entry"), body
	}
	for _, tc := range []struct {
		name, route, user, password string
		marked                      bool
		status                      int
		short                       bool
	}{
		{"users endpoint", "/wp/v2/users/me", env.Username, env.AppPassword, true, 200, true},
		{"plugin route", "/wpbridge/v1/status", env.Username, env.AppPassword, true, 200, true},
		{"not marked", "/wp/v2/users/me", env.Username, env.AppPassword, false, 200, false},
		{"another route", "/wp/v2/posts", env.Username, env.AppPassword, true, 200, false},
		{"no credentials", "/wp/v2/users/me", "", "", true, 401, true},
		{"wrong password", "/wp/v2/users/me", env.Username, "abcd efgh ijkl mnop qrst uvwx", true, 401, true},
		{"no right to edit users", "/wpbridge/v1/status", env.AuthorUsername, env.AuthorAppPassword, true, 403, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, entry, body := get(tc.route, tc.user, tc.password, tc.marked)
			if status != tc.status || (entry == "short") != tc.short {
				t.Errorf("status %d, entry %q (body %.200v); want %d, short %v", status, entry, body, tc.status, tc.short)
			}
		})
	}
	// The same answer either way.
	_, _, short := get("/wp/v2/users/me", env.Username, env.AppPassword, true)
	_, _, usual := get("/wp/v2/users/me", env.Username, env.AppPassword, false)
	for _, k := range []string{"id", "username", "email", "roles", "wpbridge_state"} {
		if a, b := short[k], usual[k]; a == nil || !jsonEqual(a, b) {
			t.Errorf("%s: short way %v, usual way %v", k, a, b)
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// rawREST sends a request to route (with context=edit) as user with
// password (none when user is empty), the headers hdr and body as JSON
// when not nil, and returns the status, the headers and the JSON answer.
func rawREST(t *testing.T, env wptest.Site, method, route, user, password string, hdr map[string]string, body any) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, env.URL+"/?rest_route="+url.QueryEscape(route)+"&context=edit", rd)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, resp.Header, out
}
