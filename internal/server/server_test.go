package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/internal/metrics"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

func TestNew(t *testing.T) {
	log := logrus.New()
	log.SetOutput(io.Discard)
	tests := []struct {
		name    string
		opts    Options
		m       *metrics.Metrics
		wantErr string
	}{
		{name: "ok", opts: Options{AccessKeys: []string{"k"}}, m: metrics.New()},
		{name: "no keys", opts: Options{}, m: metrics.New(), wantErr: "no access key"},
		{name: "invalid proxy", opts: Options{AccessKeys: []string{"k"}, TrustedProxies: []string{"not-an-ip"}}, m: metrics.New(), wantErr: "TRUSTED_PROXIES"},
		{name: "invalid CIDR", opts: Options{AccessKeys: []string{"k"}, TrustedProxies: []string{"10.0.0.0/99"}}, m: metrics.New(), wantErr: "TRUSTED_PROXIES"},
		{name: "CIDR proxy", opts: Options{AccessKeys: []string{"k"}, TrustedProxies: []string{"10.0.0.0/8", "::1"}}, m: metrics.New()},
		{name: "discarded metrics", opts: Options{AccessKeys: []string{"k"}}, m: metrics.Discard()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.opts, &fakeQueue{}, log, tc.m)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if rec := send(s, "GET", "/?wpf_action=add&contact_id=1&access_key=k", "", nil, nil); rec.Code != 200 {
				t.Fatalf("webhook: %d", rec.Code)
			}
		})
	}
}

func TestReadyz(t *testing.T) {
	q := &fakeQueue{}
	s, _ := newTestServer(t, Options{}, q)
	get := func() (int, reply) {
		rec := send(s, "GET", "/readyz", "", nil, nil)
		return rec.Code, decode(t, rec)
	}
	if code, r := get(); code != 200 || r.Status != "ok" {
		t.Fatalf("ready queue: %d %+v", code, r)
	}
	q.ReadyFunc = func(context.Context) error { return errors.New("workers not running") }
	if code, r := get(); code != 503 || !strings.Contains(r.Message, "workers not running") {
		t.Fatalf("queue not ready: %d %+v", code, r)
	}
	if rec := send(s, "GET", "/healthz", "", nil, nil); rec.Code != 200 {
		t.Fatalf("/healthz %d while not ready", rec.Code)
	}
	q.ReadyFunc = nil
	if code, _ := get(); code != 200 {
		t.Fatalf("ready again: %d", code)
	}
	s.Drain()
	if code, r := get(); code != 503 || r.Status != "unavailable" {
		t.Fatalf("after Drain: %d %+v", code, r)
	}
	// Webhooks are still accepted while draining.
	if rec := send(s, "GET", "/?wpf_action=add&contact_id=1&access_key="+key1, "", nil, nil); rec.Code != 200 {
		t.Fatalf("webhook while draining: %d", rec.Code)
	}
}

func TestMetrics(t *testing.T) {
	q := &fakeQueue{}
	s, _ := newTestServer(t, Options{}, q)
	send(s, "GET", "/?wpf_action=add&contact_id=1&access_key="+key1, "", nil, nil)
	send(s, "GET", "/?wpf_action=bogus&access_key="+key1, "", nil, nil)
	send(s, "GET", "/?wpf_action=add&contact_id=1&access_key=nope", "", nil, nil)
	rec := send(s, "GET", "/metrics", "", nil, nil)
	if rec.Code != 200 {
		t.Fatalf("/metrics %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	body := rec.Body.String()
	for _, want := range []string{
		"wpbridge_webhooks_received_total",
		`wpbridge_webhooks_received_total{action="add",status="200"} 1`,
		`wpbridge_webhooks_received_total{action="invalid",status="400"} 1`,
		`wpbridge_webhooks_received_total{action="add",status="403"} 1`,
		"wpbridge_webhook_ack_seconds_count 3",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "bogus") {
		t.Error("an unknown action became a metric label")
	}
}

// TestMaxPendingRefused: a webhook the queue refuses for MAX_PENDING is
// answered 503, counted in wpbridge_webhooks_rejected_total and logged once
// as a warning with the contact.
func TestMaxPendingRefused(t *testing.T) {
	q := &fakeQueue{SubmitFunc: func(context.Context, webhook.Webhook) (webhook.Outcome, error) {
		return webhook.Outcome{}, fmt.Errorf("queue: %w: 3 pending, MAX_PENDING is 3", webhook.ErrTooManyPending)
	}}
	s, logs := newTestServer(t, Options{}, q)
	for range 2 {
		rec := send(s, "GET", "/?wpf_action=add&contact_id=31&access_key="+key1, "", nil, nil)
		if r := decode(t, rec); rec.Code != 503 || r.Status != "error" || !strings.Contains(r.Message, "nothing was stored") {
			t.Fatalf("answer %d %+v", rec.Code, r)
		}
	}
	body := send(s, "GET", "/metrics", "", nil, nil).Body.String()
	for _, want := range []string{
		`wpbridge_webhooks_rejected_total{reason="max_pending"} 2`,
		`wpbridge_webhooks_received_total{action="add",status="503"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	n := 0
	for _, e := range logs.entries(t) {
		if e["msg"] != "webhook refused: too many pending webhooks" {
			continue
		}
		n++
		if e["level"] != "warning" || e["contact_id"] != "31" || !strings.Contains(fmt.Sprint(e["error"]), "MAX_PENDING is 3") {
			t.Errorf("log line %v", e)
		}
	}
	if n != 2 {
		t.Errorf("%d refusal log lines, want 2", n)
	}
}

func TestClientIP(t *testing.T) {
	tests := []struct {
		name    string
		trusted []string
		peer    string
		want    string
	}{
		{name: "no trusted proxies: X-Forwarded-For ignored", peer: "127.0.0.1:4000", want: "127.0.0.1"},
		{name: "trusted proxy: X-Forwarded-For used", trusted: []string{"127.0.0.1"}, peer: "127.0.0.1:4000", want: "203.0.113.9"},
		{name: "untrusted peer: X-Forwarded-For ignored", trusted: []string{"127.0.0.1"}, peer: "192.0.2.7:4000", want: "192.0.2.7"},
		{name: "trusted CIDR", trusted: []string{"10.0.0.0/8"}, peer: "10.1.2.3:4000", want: "203.0.113.9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, logs := newTestServer(t, Options{TrustedProxies: tc.trusted}, &fakeQueue{})
			rec := send(s, "POST", "/webhooks/activecampaign/add?access_key="+key1, formType,
				strings.NewReader("contact%5Bid%5D=1"), func(r *http.Request) {
					r.RemoteAddr = tc.peer
					r.Header.Set("X-Forwarded-For", "203.0.113.9")
					r.Header.Set("X-Real-IP", "203.0.113.10")
				})
			if rec.Code != 200 {
				t.Fatalf("status %d", rec.Code)
			}
			seen := map[string]bool{}
			for _, e := range logs.entries(t) {
				msg, _ := e["msg"].(string)
				if msg != "request" && msg != "webhook received" {
					continue
				}
				seen[msg] = true
				if got := e["client_ip"]; got != tc.want {
					t.Errorf("%s log: client_ip %v, want %s", msg, got, tc.want)
				}
			}
			if !seen["request"] || !seen["webhook received"] {
				t.Fatalf("missing log lines: %v", seen)
			}
		})
	}
}

func TestRejectLogHasClientIP(t *testing.T) {
	s, logs := newTestServer(t, Options{}, &fakeQueue{})
	send(s, "GET", "/?wpf_action=add&access_key=guess-1234", "", nil, func(r *http.Request) {
		r.RemoteAddr = "198.51.100.4:999"
		r.Header.Set("X-Forwarded-For", "1.2.3.4")
	})
	found := false
	for _, e := range logs.entries(t) {
		if e["msg"] == "webhook rejected" {
			found = true
			if e["client_ip"] != "198.51.100.4" || e["status"] != float64(403) || e["reason"] != "invalid access key" {
				t.Errorf("reject log %v", e)
			}
		}
	}
	if !found {
		t.Fatal("no reject log line")
	}
	if strings.Contains(logs.String(), "guess-1234") {
		t.Error("the presented key is in the log")
	}
}

func TestPanicIsLoggedAndAnswered500(t *testing.T) {
	q := &fakeQueue{SubmitFunc: func(context.Context, webhook.Webhook) (webhook.Outcome, error) {
		panic("boom in store")
	}}
	s, logs := newTestServer(t, Options{}, q)
	rec := send(s, "GET", "/webhooks/activecampaign/add?contact_id=1&access_key="+key1, "", nil, nil)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	found := false
	for _, e := range logs.entries(t) {
		if e["msg"] == "panic while handling request" {
			found = true
			if e["panic"] != "boom in store" || e["path"] != "/webhooks/activecampaign/add" {
				t.Errorf("panic log %v", e)
			}
		}
	}
	if !found {
		t.Fatal("no panic log line")
	}
}

// FuzzWebhookRequest sends arbitrary query strings and bodies to both webhook
// forms: the handler never panics, answers JSON, never 410 and never 5xx
// other than the 503 the fake queue asks for.
func FuzzWebhookRequest(f *testing.F) {
	f.Add(true, true, "wpf_action=add&access_key="+key1, "contact%5Bid%5D=1")
	f.Add(false, true, "access_key="+key1+"&contact_id=9", "")
	f.Add(true, false, "wpf_action=update_tags&access_key="+key1, "contact%5Bid%5D=2&contact%5Btags%5D=a%2C+b")
	f.Add(true, true, "wpf_action=add&access_key="+key1+"&role=%00&async=true", "contact%5Bid%5D=3&%FF=%zz")
	f.Add(false, true, "x=%zz;&&==", "a=b;c=d&&")
	f.Add(true, true, "", "wpf_action=test&access_key="+key1)
	f.Add(true, true, "wpf_action=add&access_key="+key1+"&send_notification=yes", "contact[id]=4&contact[email]=a@b")

	q := &fakeQueue{}
	storeFailed := false
	q.SubmitFunc = func(_ context.Context, w webhook.Webhook) (webhook.Outcome, error) {
		if strings.HasSuffix(w.Request.ContactID, "7") {
			storeFailed = true
			return webhook.Outcome{}, errStore
		}
		return webhook.Outcome{WebhookID: 5, State: "pending"}, nil
	}
	q.WaitFunc = func(_ context.Context, id int64, _ time.Duration) (webhook.Outcome, error) {
		return webhook.Outcome{WebhookID: id, State: webhook.StateDone}, nil
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	s, err := New(Options{AccessKeys: []string{key1}, SyncTimeout: time.Second}, q, log, metrics.New())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, atRoot, post bool, query, body string) {
		target := "/webhooks/activecampaign/add"
		if atRoot {
			target = "/"
		}
		method := http.MethodGet
		if post {
			method = http.MethodPost
		}
		storeFailed = false
		rec := send(s, method, target, formType, strings.NewReader(body), func(r *http.Request) {
			r.URL.RawQuery = query
		})
		if rec.Code == http.StatusGone || (rec.Code >= 500 && rec.Code != 503) || rec.Code < 200 {
			t.Fatalf("status %d for query %q body %q", rec.Code, query, body)
		}
		r := decode(t, rec)
		if (rec.Code == 503) != storeFailed {
			t.Fatalf("status %d, store failed %v: %+v", rec.Code, storeFailed, r)
		}
		if rec.Code >= 400 && r.Message == "" {
			t.Fatalf("status %d without a message", rec.Code)
		}
		if strings.Contains(rec.Body.String(), key1) {
			t.Fatal("the answer echoes the access key")
		}
	})
}
