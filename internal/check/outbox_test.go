package check

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// withOutbox serves the outbox status route with answer (status code and
// body; code 0: the plugin has no such route) and every other route as fx.wp.
func withOutbox(t *testing.T, fx *fixture, code int, body string) map[string]string {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("rest_route") != "/wpbridge/v1/outbox" {
			fx.wp.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		if code == 0 {
			w.WriteHeader(404)
			w.Write([]byte(`{"code":"rest_no_route","message":"No route.","data":{"status":404}}`))
			return
		}
		w.WriteHeader(code)
		w.Write([]byte(body))
	}))
	t.Cleanup(ts.Close)
	env := maps.Clone(fx.env)
	env["WP_URL"] = ts.URL
	env["SYNC_TO_AC"] = "true"
	return env
}

func TestCheckOutbox(t *testing.T) {
	t.Parallel()
	status := func(enabled string, pending, dropped string) string {
		return `{"enabled":` + enabled + `,"meta_keys":[],"user":1,"db_version":"1","pending":` + pending +
			`,"oldest":0,"newest":0,"dropped":` + dropped + `,"limit":100000,"epoch":"e"}`
	}
	tests := []struct {
		name   string
		code   int
		body   string
		ok     bool
		detail string
	}{
		{"recording", 200, status("true", "3", "0"), true, "recording, 3 events pending, none dropped"},
		{"not yet enabled", 200, status("false", "0", "0"), true, "ready; wpbridge turns recording on when it starts"},
		{"dropped", 200, status("true", "100000", "12"), false, "12 events were dropped at the bound of 100000"},
		{"old plugin", 0, "", false, "has no outbox: copy wordpress/plugin/wpbridge.php"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t)
			ok, out, results := run(t, withOutbox(t, fx, tt.code, tt.body))
			var found bool
			for _, r := range results {
				if strings.HasPrefix(r.What, "WordPress outbox") {
					found = true
					if r.OK != tt.ok || !strings.Contains(r.Detail, tt.detail) {
						t.Errorf("result = %+v, want ok=%v and %q", r, tt.ok, tt.detail)
					}
				}
			}
			if !found || ok != tt.ok {
				t.Errorf("check ok=%v, outbox item found=%v:\n%s", ok, found, out)
			}
		})
	}
	// Without SYNC_TO_AC the outbox is not asked about.
	fx := newFixture(t)
	env := withOutbox(t, fx, 500, `{"code":"boom","message":"must not be asked"}`)
	delete(env, "SYNC_TO_AC")
	if ok, out, _ := run(t, env); !ok || strings.Contains(out, "outbox") {
		t.Errorf("with SYNC_TO_AC off: ok=%v\n%s", ok, out)
	}
}
