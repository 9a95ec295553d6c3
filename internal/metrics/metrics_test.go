package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("metrics answered %d", rec.Code)
	}
	return rec.Body.String()
}

func TestNewAndDiscard(t *testing.T) {
	for _, tc := range []struct {
		name   string
		m      *Metrics
		served bool
	}{
		{"New", New(), true},
		{"Discard", Discard(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Every collector works, served or not.
			tc.m.JobsFinished.WithLabelValues("add", "done").Inc()
			tc.m.WebhooksReceived.WithLabelValues("add", "200").Inc()
			tc.m.AckSeconds.Observe(0.01)
			tc.m.JobSeconds.Observe(0.1)
			tc.m.Coalesced.Add(2)
			tc.m.WebhooksRejected.WithLabelValues("max_pending").Inc()
			tc.m.Paused.WithLabelValues("x").Set(1)
			tc.m.SetDepthFunc(func() float64 { return 3 })
			body := scrape(t, tc.m)
			for _, want := range []string{
				`wpbridge_jobs_total{action="add",outcome="done"} 1`,
				"wpbridge_webhooks_coalesced_total 2",
				`wpbridge_webhooks_rejected_total{reason="max_pending"} 1`,
				"wpbridge_webhooks_pending 3",
				"go_goroutines",
			} {
				if strings.Contains(body, want) != tc.served {
					t.Errorf("served %v, want %v: %q", strings.Contains(body, want), tc.served, want)
				}
			}
		})
	}
}

func TestHTTPClientCountsRequests(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusTeapot)
	}))
	defer srv.Close()
	m := New()
	hc := m.HTTPClient("wordpress")
	for _, path := range []string{"/", "/moved"} {
		resp, err := hc.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	body := scrape(t, m)
	for _, want := range []string{
		`wpbridge_api_requests_total{api="wordpress",outcome="418"} 1`,
		`wpbridge_api_requests_total{api="wordpress",outcome="302"} 1`, // redirects are not followed
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if got := m.Sent("wordpress"); got != 2 {
		t.Errorf("Sent(wordpress) = %d, want 2", got)
	}
	if got := m.Sent("activecampaign"); got != 0 {
		t.Errorf("Sent(activecampaign) = %d, want 0", got)
	}
}
