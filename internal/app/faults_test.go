package app_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/app"
	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/internal/webhook"
	"github.com/wpbridge/wpbridge/wordpress"
)

// TestDuplicateAddStorm sends 20 identical adds for one new contact at once,
// in sync mode: one user, one password, every answer 2xx.
func TestDuplicateAddStorm(t *testing.T) {
	b := startBridge(t, nil, app.Options{})
	email := wptest.UniqueEmail(t, "dupstorm")
	id := b.addContact(acfake.Contact{Email: email, FirstName: "Dup"})
	t.Cleanup(func() { b.deleteUserByEmail(email) })
	const n = 20
	codes := make(chan int, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			code, err := sendHook(b.URL, hook("add"), contactBody(id, email, "Dup"))
			if err != nil {
				t.Errorf("send: %v", err)
			}
			codes <- code
		}()
	}
	close(start)
	wg.Wait()
	close(codes)
	for code := range codes {
		if code < 200 || code > 299 {
			t.Errorf("answer %d, want 2xx", code)
		}
	}
	waitSettled(t, b.URL, time.Minute)
	u, err := contactUser(b.Site, b.WP, id, email)
	if err != nil {
		t.Fatalf("after 20 adds for one contact: %v", err)
	}
	ws := b.AC.FieldWrites(id)
	if len(ws) != 1 {
		t.Fatalf("passwords written = %d, want 1", len(ws))
	}
	if !b.Site.CheckPassword(t, u.Username, ws[0].Value) {
		t.Error("the password written to AC does not log in")
	}
}

// switchProxy stands in front of WordPress and can play dead: 502 from the
// proxy, or the connection dropped, alternately.
type switchProxy struct {
	down atomic.Bool
	n    atomic.Int64
	rp   *httputil.ReverseProxy
}

func (p *switchProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !p.down.Load() {
		p.rp.ServeHTTP(w, r)
		return
	}
	if p.n.Add(1)%2 == 0 {
		http.Error(w, "502 Bad Gateway", http.StatusBadGateway)
		return
	}
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	http.Error(w, "502 Bad Gateway", http.StatusBadGateway)
}

// TestWordPressDown queues webhooks while WordPress is unreachable and
// completes them once it is back.
func TestWordPressDown(t *testing.T) {
	site := wptest.Env(t)
	target, err := url.Parse(site.URL)
	if err != nil {
		t.Fatal(err)
	}
	px := &switchProxy{rp: httputil.NewSingleHostReverseProxy(target)}
	ts := httptest.NewServer(px)
	t.Cleanup(ts.Close)
	b := startBridgeWith(t, setup{WPURL: ts.URL, Env: map[string]string{"SYNC_TIMEOUT": "1s"},
		Opts: app.Options{RetryBase: 200 * time.Millisecond, RetryCap: time.Second}})

	px.down.Store(true)
	var ids, emails []string
	for i := range 4 {
		email := wptest.UniqueEmail(t, "wpdown")
		id := b.addContact(acfake.Contact{Email: email, FirstName: "Down"})
		t.Cleanup(func() { b.deleteUserByEmail(email) })
		q := hook("add")
		if i%2 == 1 {
			q.Set("async", "true")
		}
		r := b.post("/", q, contactBody(id, email, "Down"))
		if r.Code != http.StatusAccepted || r.Status != "queued" {
			t.Fatalf("add while WordPress is down = %d %q %q, want 202 queued", r.Code, r.Status, r.Message)
		}
		ids, emails = append(ids, id), append(emails, email)
	}
	// A few failed rounds: twice as many as webhooks (each contact's round
	// fails and retries, sync or async).
	wait.For(t, 30*time.Second, "rounds to fail while WordPress is down", func() (bool, string) {
		n := metric(b.URL, `wpbridge_jobs_total{action="add",outcome="retry"}`)
		return n >= 2*len(ids), fmt.Sprintf("%d rounds failed, want %d", n, 2*len(ids))
	})
	if n := pendingWebhooks(b.URL); n != len(ids) {
		t.Errorf("pending webhooks while WordPress is down = %d, want %d", n, len(ids))
	}
	for _, email := range emails {
		if _, err := b.WP.Users.FindByEmail(context.Background(), email); !errors.Is(err, wordpress.ErrNotFound) {
			t.Fatalf("user exists while WordPress was down (err %v)", err)
		}
	}
	px.down.Store(false)
	waitSettled(t, b.URL, time.Minute)
	for i, id := range ids {
		u, err := contactUser(b.Site, b.WP, id, emails[i])
		if err != nil {
			t.Errorf("contact %s after WordPress came back: %v", id, err)
			continue
		}
		ws := b.AC.FieldWrites(id)
		if len(ws) != 1 {
			t.Errorf("contact %s: %d passwords written, want 1", id, len(ws))
			continue
		}
		if !b.Site.CheckPassword(t, u.Username, ws[0].Value) {
			t.Errorf("contact %s: the password written to AC does not log in", id)
		}
	}
}

// TestACThrottledAndDown has AC answer 429 (Retry-After), then 503, for a
// while; with a retry horizon that any temporary failure would pass, every
// webhook still completes, because waiting on AC is not a failure.
func TestACThrottledAndDown(t *testing.T) {
	const maxAttempts = 2 // refusals each contact sees per phase; a 1ms horizon would fail a counted one
	b := startBridgeWith(t, setup{Opts: app.Options{RetryHorizon: time.Millisecond, RetryBase: 200 * time.Millisecond, RetryCap: time.Second}})
	var ids []string
	var hooks []int64
	send := func() {
		email := wptest.UniqueEmail(t, "acdown")
		id := b.addContact(acfake.Contact{Email: email, FirstName: "Throttle"})
		t.Cleanup(func() { b.deleteUserByEmail(email) })
		r := b.post("/", hook("add", "async", "true"), contactBody(id, email, "T"))
		if r.Code != http.StatusAccepted {
			t.Fatalf("async add = %d %q", r.Code, r.Message)
		}
		ids, hooks = append(ids, id), append(hooks, r.WebhookID)
	}
	// In each phase, a contact sent in it is refused more often than it has
	// attempts: had a refusal used an attempt, its webhook would fail.
	b.AC.SetDown(http.StatusTooManyRequests)
	for range 3 {
		send()
	}
	waitRefused(t, b.AC, ids[0:3], http.StatusTooManyRequests, maxAttempts)
	b.AC.SetDown(http.StatusServiceUnavailable)
	for range 3 {
		send()
	}
	waitRefused(t, b.AC, ids[3:6], http.StatusServiceUnavailable, maxAttempts)
	if n := pendingWebhooks(b.URL); n != len(ids) {
		t.Errorf("pending webhooks while AC refuses = %d, want %d", n, len(ids))
	}
	b.AC.SetDown(0)
	waitSettled(t, b.URL, time.Minute)
	for i, id := range hooks {
		o, err := b.App.Queue.Outcome(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if o.State != webhook.StateDone {
			t.Errorf("webhook %d: %s %q, want done", id, o.State, o.Message)
		}
		if n := len(b.AC.FieldWrites(ids[i])); n != 1 {
			t.Errorf("contact %s: %d passwords written, want 1", ids[i], n)
		}
	}
	if n := b.AC.MaxInWindow(time.Second); n > 5 {
		t.Errorf("AC saw %d requests within 1s (429 and 503 included), limit 5", n)
	}
}

// waitRefused waits until ac has answered status to more than n requests
// for one of the contacts (GET /api/3/contacts/{id}, the first AC request of
// a round). During an outage the bridge probes AC about once a second, for one
// contact at a time, so the contacts are not refused equally often.
func waitRefused(t *testing.T, ac *acfake.Server, contacts []string, status, n int) {
	t.Helper()
	wait.For(t, time.Minute, fmt.Sprintf("AC to refuse a contact more than %d times with %d", n, status), func() (bool, string) {
		refused := map[string]int{}
		for _, r := range ac.Requests() {
			if r.Status == status && r.Method == http.MethodGet {
				refused[strings.TrimPrefix(r.Path, "/api/3/contacts/")]++
			}
		}
		most := 0
		for _, id := range contacts {
			most = max(most, refused[id])
		}
		return most > n, fmt.Sprintf("refused at most %d times", most)
	})
}

// failFirstLookup answers 500, as a failing WordPress does, to the first
// companion-plugin lookup (the first request of an add) and passes
// everything else to WordPress.
type failFirstLookup struct {
	failed atomic.Int64
	rp     *httputil.ReverseProxy
}

func (p *failFirstLookup) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.Query().Get("rest_route") == "/wpbridge/v1/users/lookup" && p.failed.CompareAndSwap(0, 1) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"code":"internal_server_error","message":"There has been a critical error on this website.","data":{"status":500}}`))
		return
	}
	p.rp.ServeHTTP(w, r)
}

// TestNoLinkForSomeoneElsesUserAfterFailedLookup: an add records the link it
// owes a new user before its lookup; when that lookup fails (WordPress
// answers 500) and the retry finds a user already linked to the contact (a
// member of WP Fusion's days), no reset key is made for that user (its
// user_activation_key is unchanged) and nothing is written to the AC link
// field: a link is owed only for a user wpbridge created.
func TestNoLinkForSomeoneElsesUserAfterFailedLookup(t *testing.T) {
	site := wptest.Env(t)
	target, err := url.Parse(site.URL)
	if err != nil {
		t.Fatal(err)
	}
	px := &failFirstLookup{rp: httputil.NewSingleHostReverseProxy(target)}
	ts := httptest.NewServer(px)
	t.Cleanup(ts.Close)
	ac, passID := newAC(t, 5)
	linkField := ac.AddField("Password link", "PASSWORD_LINK", "text")
	b := startBridgeWith(t, setup{AC: ac, PassID: passID, WPURL: ts.URL,
		Env:  map[string]string{"RETURN_PASSWORD_FIELD": "", "RETURN_LINK_FIELD": "%PASSWORD_LINK%"},
		Opts: app.Options{RetryBase: 200 * time.Millisecond, RetryCap: time.Second}})
	u, id := lifecycleUser(t, b, "failed-lookup")
	before := site.ActivationKey(t, u.ID)

	b.post("/", hook("add"), contactBody(id, u.Email))
	waitSettled(t, b.URL, time.Minute)
	if px.failed.Load() != 1 {
		t.Fatal("the lookup never failed: the test did not test the retry")
	}
	if n := metric(b.URL, `wpbridge_jobs_total{action="add",outcome="retry"}`); n != 1 {
		t.Errorf("%d rounds retried, want 1 (the failed lookup)", n)
	}
	if n := metric(b.URL, `wpbridge_jobs_total{action="add",outcome="done"}`); n != 1 {
		t.Fatalf("%d adds done, want 1 (the retry)", n)
	}
	if after := site.ActivationKey(t, u.ID); after != before {
		t.Error("a reset key was made for a user wpbridge did not create")
	}
	for _, w := range b.AC.FieldWrites(id) {
		if w.Field == linkField {
			t.Error("a set-password link was written to AC for a user wpbridge did not create")
		}
	}
}
