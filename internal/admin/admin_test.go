package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/internal/history"
)

func TestNew_RejectsShortToken(t *testing.T) {
	t.Parallel()
	if _, err := New(Options{Token: strings.Repeat("x", MinTokenLength-1)}, &fakeHistory{}, logrus.New()); err == nil {
		t.Fatal("New accepted a token shorter than MinTokenLength")
	}
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	t.Run("WrongToken", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Options{})
		rec := e.trySignIn("wrong-token-wrong-token-wrong", "")
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("status = %d, want 401", rec.Code)
		}
		if !strings.Contains(rec.Body.String(), "Wrong token.") {
			t.Errorf("page does not say the token is wrong:\n%s", rec.Body)
		}
		if cookie(rec, sessionCookie) != nil {
			t.Error("a wrong token got a session cookie")
		}
	})
	t.Run("NoSession", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Options{})
		forged := &http.Cookie{Name: sessionCookie, Value: strconv.FormatInt(e.now.Unix(), 10) + ".forged"}
		for _, path := range []string{"/admin/", "/admin/webhooks/1"} {
			if rec := e.do(request{path: path, cookies: []*http.Cookie{forged}}); rec.Code != http.StatusUnauthorized {
				t.Errorf("GET %s with a forged session = %d, want 401", path, rec.Code)
			}
		}
	})
	t.Run("Expired", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Options{SessionTTL: time.Hour})
		s := e.signIn()
		e.page(s, "/admin/", http.StatusOK)
		e.now = e.now.Add(time.Hour + time.Second)
		e.page(s, "/admin/", http.StatusUnauthorized)
	})
	t.Run("SignOut", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Options{})
		s := e.signIn()
		csrf := csrfOf(t, e.page(s, "/admin/", http.StatusOK))
		rec := e.do(request{method: http.MethodPost, path: "/admin/signout", form: url.Values{"csrf": {csrf}}, cookies: []*http.Cookie{s}})
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("sign out = %d, want 303", rec.Code)
		}
		if c := cookie(rec, sessionCookie); c == nil || c.MaxAge >= 0 || c.Value != "" {
			t.Errorf("sign out cookie = %v, want it deleted", c)
		}
		e.page(s, "/admin/", http.StatusUnauthorized) // a kept copy of the cookie is revoked
		e.page(e.signIn(), "/admin/", http.StatusOK)  // other sessions are not
	})
}

func TestSignIn_CookieAttributes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		remote     string
		tls        bool
		proto      string
		wantSecure bool
	}{
		{name: "HTTP", wantSecure: false},
		{name: "TLS", tls: true, wantSecure: true},
		{name: "TrustedProxyHTTPS", remote: "10.1.2.3:5555", proto: "https", wantSecure: true},
		{name: "UntrustedProxyHTTPS", remote: "192.0.2.9:5555", proto: "https", wantSecure: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, Options{TrustedProxies: []string{"10.0.0.0/8"}})
			r := request{path: "/admin/", remote: tt.remote, tls: tt.tls, header: map[string]string{"X-Forwarded-Proto": tt.proto}}
			rec := e.do(r)
			pre := cookie(rec, signinCookie)
			r.method, r.path, r.cookies = http.MethodPost, "/admin/signin", []*http.Cookie{pre}
			r.form = url.Values{"token": {testToken}, "csrf": {csrfOf(t, rec.Body.String())}}
			rec = e.do(r)
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("sign in = %d, want 303", rec.Code)
			}
			for _, c := range []*http.Cookie{pre, cookie(rec, sessionCookie)} {
				if c == nil {
					t.Fatal("cookie missing")
				}
				if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/admin/" || c.Secure != tt.wantSecure {
					t.Errorf("cookie %s: HttpOnly=%v SameSite=%v Path=%q Secure=%v; want true, Strict, /admin/, %v",
						c.Name, c.HttpOnly, c.SameSite, c.Path, c.Secure, tt.wantSecure)
				}
				if strings.Contains(c.Value, testToken) {
					t.Errorf("cookie %s holds the token", c.Name)
				}
			}
		})
	}
}

func TestBruteForce(t *testing.T) {
	t.Parallel()
	const wrong = "not-the-token-not-the-token-000"
	t.Run("SignIn", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Options{})
		for i := range maxFailures {
			if rec := e.trySignIn(wrong, ""); rec.Code != http.StatusUnauthorized {
				t.Fatalf("attempt %d = %d, want 401", i+1, rec.Code)
			}
		}
		rec := e.trySignIn(wrong, "") // a further wrong token waits now
		if rec.Code != http.StatusTooManyRequests {
			t.Fatalf("attempt after %d failures = %d, want 429", maxFailures, rec.Code)
		}
		if ra, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || ra < 1 {
			t.Errorf("Retry-After = %q, want whole seconds >= 1", rec.Header().Get("Retry-After"))
		}
		// The right token is never blocked: failures from the owner's
		// address (a shared NAT, an attacker) cannot lock the owner out.
		if rec := e.trySignIn(testToken, ""); rec.Code != http.StatusSeeOther {
			t.Errorf("right token after failures = %d, want 303", rec.Code)
		}
		assertLogsClean(t, e, wrong)
		if rec := e.trySignIn(wrong, "198.51.100.7:1"); rec.Code != http.StatusUnauthorized {
			t.Errorf("another address = %d, want 401 (not throttled)", rec.Code)
		}
	})
	t.Run("Bearer", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Options{})
		for i := range maxFailures {
			if rec := e.do(request{path: "/admin/api/webhooks", header: bearer(wrong)}); rec.Code != http.StatusUnauthorized {
				t.Fatalf("attempt %d = %d, want 401", i+1, rec.Code)
			}
		}
		rec := e.do(request{path: "/admin/api/webhooks", header: bearer(wrong)})
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
			t.Fatalf("after %d failures = %d (Retry-After %q), want 429 with Retry-After", maxFailures, rec.Code, rec.Header().Get("Retry-After"))
		}
		if rec := e.do(request{path: "/admin/api/webhooks", header: bearer(testToken)}); rec.Code != http.StatusOK {
			t.Errorf("right token after failures = %d, want 200 (never blocked)", rec.Code)
		}
		assertLogsClean(t, e, wrong)
	})
	t.Run("UntrustedProxy", func(t *testing.T) {
		t.Parallel()
		// Through a proxy wpbridge does not trust, X-Forwarded-For is not
		// believed: failures are counted together, not per forged address.
		e := newEnv(t, Options{TrustedProxies: []string{"10.0.0.0/8"}})
		for i := range maxFailures {
			hdr := bearer(wrong)
			hdr["X-Forwarded-For"] = fmt.Sprintf("203.0.113.%d", i+1)
			if rec := e.do(request{path: "/admin/api/webhooks", header: hdr, remote: "192.0.2.50:1"}); rec.Code != http.StatusUnauthorized {
				t.Fatalf("attempt %d = %d, want 401", i+1, rec.Code)
			}
		}
		hdr := bearer(wrong)
		hdr["X-Forwarded-For"] = "203.0.113.99"
		if rec := e.do(request{path: "/admin/api/webhooks", header: hdr, remote: "192.0.2.50:1"}); rec.Code != http.StatusTooManyRequests {
			t.Errorf("a new forged address after %d failures = %d, want 429", maxFailures, rec.Code)
		}
		// Behind a trusted proxy each client address counts on its own.
		for i := range maxFailures + 1 {
			hdr := bearer(wrong)
			hdr["X-Forwarded-For"] = fmt.Sprintf("198.51.100.%d", i+1)
			if rec := e.do(request{path: "/admin/api/webhooks", header: hdr, remote: "10.0.0.2:1"}); rec.Code != http.StatusUnauthorized {
				t.Errorf("trusted proxy, client %d = %d, want 401", i+1, rec.Code)
			}
		}
	})
}

// assertLogsClean checks that failures were logged with the client address
// and that no log entry holds the presented or the real token.
func assertLogsClean(t *testing.T, e *env, presented string) {
	t.Helper()
	failures := 0
	for _, entry := range e.logs.AllEntries() {
		text, _ := entry.String()
		if strings.Contains(text, presented) || strings.Contains(text, testToken) {
			t.Errorf("log entry holds a token: %s", text)
		}
		if entry.Message == "admin authentication failed" {
			failures++
			if entry.Data["client_ip"] != "192.0.2.1" {
				t.Errorf("failure logged with client_ip %v, want 192.0.2.1", entry.Data["client_ip"])
			}
		}
	}
	if failures != maxFailures {
		t.Errorf("logged %d failures, want %d", failures, maxFailures)
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	id := e.history.add(history.Detail{Webhook: history.Webhook{Source: "webhook", Action: "add", ContactID: "7", State: "failed", Error: "invalid email"}})
	s := e.signIn()
	other := e.keys().csrfFor(e.keys().newSession(e.now.Add(-time.Minute)))
	retry := "/admin/webhooks/" + strconv.FormatInt(id, 10) + "/retry"
	tests := []struct {
		name string
		path string
		form url.Values
	}{
		{"RetryWithout", retry, url.Values{}},
		{"RetryEmpty", retry, url.Values{"csrf": {""}}},
		{"RetryOtherSession", retry, url.Values{"csrf": {other}}},
		{"SignOutWithout", "/admin/signout", url.Values{}},
		{"SignInWithout", "/admin/signin", url.Values{"token": {testToken}}},
	}
	for _, tt := range tests {
		rec := e.do(request{method: http.MethodPost, path: tt.path, form: tt.form, cookies: []*http.Cookie{s}})
		if rec.Code != http.StatusForbidden {
			t.Errorf("%s: status = %d, want 403", tt.name, rec.Code)
		}
	}
	if got := e.history.state(id); got != "failed" {
		t.Fatalf("state after refused retries = %q, want failed", got)
	}
	csrf := csrfOf(t, e.page(s, "/admin/", http.StatusOK))
	rec := e.do(request{method: http.MethodPost, path: retry, form: url.Values{"csrf": {csrf}}, cookies: []*http.Cookie{s}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin/webhooks/1" {
		t.Fatalf("retry with csrf = %d to %q, want 303 to /admin/webhooks/1", rec.Code, rec.Header().Get("Location"))
	}
	if got := e.history.state(id); got != "pending" {
		t.Errorf("state after retry = %q, want pending", got)
	}
	rec = e.do(request{method: http.MethodPost, path: retry, form: url.Values{"csrf": {csrf}}, cookies: []*http.Cookie{s}})
	if rec.Code != http.StatusConflict {
		t.Errorf("second retry = %d, want 409", rec.Code)
	}
}

func (e *env) keys() keys { return e.h.keys }

func TestPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{WPURL: "https://shop.example/"})
	failed := e.history.add(history.Detail{Webhook: history.Webhook{Source: "webhook", Action: "add", ContactID: "41", State: "failed", Attempts: 3, Error: "contact <41> has an invalid email"},
		Role: "customer", Email: "ann@example.com", HasTags: true, Tags: []string{"vip", "lead"}})
	done := e.history.add(history.Detail{Webhook: history.Webhook{Source: "import", Action: "update", ContactID: "42", State: "done", Attempts: 1, UserID: 77}})
	s := e.signIn()

	list := e.page(s, "/admin/", http.StatusOK)
	for _, want := range []string{`id="count-failed">1<`, `id="count-done">1<`, `href="/admin/webhooks/1"`, `href="/admin/webhooks/2"`,
		`action="/admin/webhooks/1/retry"`, "contact &lt;41&gt; has an invalid email"} {
		if !strings.Contains(list, want) {
			t.Errorf("list page lacks %q", want)
		}
	}
	if strings.Count(list, `class="retry"`) != 1 {
		t.Errorf("list page has %d Retry buttons, want 1 (failed only)", strings.Count(list, `class="retry"`))
	}
	filtered := e.page(s, "/admin/?state=done&contact=42", http.StatusOK)
	if strings.Contains(filtered, `href="/admin/webhooks/1"`) || !strings.Contains(filtered, `href="/admin/webhooks/2"`) {
		t.Error("filter state=done contact=42 did not select webhook 2 only")
	}
	if f := e.history.lastList; f.State != "done" || f.ContactID != "42" || f.Limit != DefaultLimit {
		t.Errorf("List filter = %+v", f)
	}
	e.page(s, "/admin/?state=bogus", http.StatusBadRequest)

	detail := e.page(s, "/admin/webhooks/"+strconv.FormatInt(done, 10), http.StatusOK)
	if !strings.Contains(detail, `href="https://shop.example/wp-admin/user-edit.php?user_id=77"`) {
		t.Errorf("detail page lacks the profile link:\n%s", detail)
	}
	detail = e.page(s, "/admin/webhooks/"+strconv.FormatInt(failed, 10), http.StatusOK)
	for _, want := range []string{"customer", "ann@example.com", "vip, lead", `class="retry"`} {
		if !strings.Contains(detail, want) {
			t.Errorf("detail page lacks %q", want)
		}
	}
	e.page(s, "/admin/webhooks/999", http.StatusNotFound)
	e.page(s, "/admin/webhooks/abc", http.StatusNotFound)
}

func TestNoSecretRendered(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{WPURL: "https://shop.example"})
	e.history.add(history.Detail{Webhook: history.Webhook{Source: "webhook", Action: "add", ContactID: "1", State: "failed", Error: "x"}})
	var bodies []string
	bodies = append(bodies, e.do(request{path: "/admin/"}).Body.String())
	bodies = append(bodies, e.trySignIn("wrong-wrong-wrong-wrong-wrong", "").Body.String())
	rec := e.trySignIn(testToken, "")
	bodies = append(bodies, rec.Body.String())
	s := cookie(rec, sessionCookie)
	for _, p := range []string{"/admin/", "/admin/webhooks/1", "/admin/webhooks/2", "/admin/?state=x"} {
		bodies = append(bodies, e.do(request{path: p, cookies: []*http.Cookie{s}}).Body.String())
	}
	bodies = append(bodies, e.do(request{path: "/admin/api/webhooks/1", header: bearer(testToken)}).Body.String())
	for i, b := range bodies {
		if strings.Contains(b, testToken) {
			t.Errorf("response %d holds the token", i)
		}
		if strings.Contains(b, "<script") {
			t.Errorf("response %d holds a script", i)
		}
	}
}

func TestAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	e.history.add(history.Detail{Webhook: history.Webhook{ReceivedAt: at, Source: "webhook", Action: "add", ContactID: "123", State: "failed", Attempts: 3, Error: "invalid email"}})
	e.history.add(history.Detail{Webhook: history.Webhook{ReceivedAt: at, Source: "import", Action: "add", ContactID: "124", State: "done", Attempts: 1, UserID: 45}})

	rec := e.do(request{path: "/admin/api/webhooks?limit=10", header: bearer(testToken)})
	if rec.Code != http.StatusOK {
		t.Fatalf("list = %d, want 200", rec.Code)
	}
	want := `{"webhooks":[` +
		`{"id":2,"received_at":"2026-12-01T09:30:00Z","source":"import","action":"add","contact_id":"124","state":"done","attempts":1,"user_id":45},` +
		`{"id":1,"received_at":"2026-12-01T09:30:00Z","source":"webhook","action":"add","contact_id":"123","state":"failed","attempts":3,"error":"invalid email"}]}`
	if got := rec.Body.String(); got != want {
		t.Errorf("list body\n got %s\nwant %s", got, want)
	}
	rec = e.do(request{path: "/admin/api/webhooks/2", header: bearer(testToken)})
	want = `{"id":2,"received_at":"2026-12-01T09:30:00Z","source":"import","action":"add","contact_id":"124","state":"done","attempts":1,"user_id":45,` +
		`"role":"","send_notification":false,"async":false,"email":"","tags":null,"message":"","retry_from":""}`
	if got := rec.Body.String(); rec.Code != http.StatusOK || got != want {
		t.Errorf("get = %d\n got %s\nwant %s", rec.Code, got, want)
	}
	rec = e.do(request{path: "/admin/api/webhooks?state=pending&contact=9", header: bearer(testToken)})
	if rec.Body.String() != `{"webhooks":[]}` {
		t.Errorf("empty list = %s, want {\"webhooks\":[]}", rec.Body)
	}
	if f := e.history.lastList; f.State != "pending" || f.ContactID != "9" || f.Limit != DefaultLimit {
		t.Errorf("List filter = %+v", f)
	}

	tests := []struct {
		name, method, path string
		header             map[string]string
		want               int
		wantState          string
	}{
		{"NoToken", "GET", "/admin/api/webhooks", nil, 401, ""},
		{"WrongToken", "GET", "/admin/api/webhooks/1", bearer("x" + testToken), 401, ""},
		{"CookieIsNotEnough", "GET", "/admin/api/webhooks/1", map[string]string{"Cookie": sessionCookie + "=" + e.keys().newSession(e.now)}, 401, ""},
		{"BadState", "GET", "/admin/api/webhooks?state=lost", bearer(testToken), 400, ""},
		{"BadLimit", "GET", "/admin/api/webhooks?limit=0", bearer(testToken), 400, ""},
		{"Get", "GET", "/admin/api/webhooks/1", bearer(testToken), 200, "failed"},
		{"GetUnknown", "GET", "/admin/api/webhooks/99", bearer(testToken), 404, ""},
		{"RetryUnknown", "POST", "/admin/api/webhooks/99/retry", bearer(testToken), 404, ""},
		{"RetryNotFailed", "POST", "/admin/api/webhooks/2/retry", bearer(testToken), 409, ""},
		{"Retry", "POST", "/admin/api/webhooks/1/retry", bearer(testToken), 200, "pending"},
		{"RetryAgain", "POST", "/admin/api/webhooks/1/retry", bearer(testToken), 409, ""},
	}
	for _, tt := range tests {
		rec := e.do(request{method: tt.method, path: tt.path, header: tt.header})
		if rec.Code != tt.want {
			t.Errorf("%s: status = %d, want %d (%s)", tt.name, rec.Code, tt.want, rec.Body)
			continue
		}
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Errorf("%s: body not JSON: %s", tt.name, rec.Body)
			continue
		}
		if tt.wantState != "" && (body["state"] != tt.wantState || body["id"] != float64(1)) {
			t.Errorf("%s: body = %s, want webhook 1 in state %s", tt.name, rec.Body, tt.wantState)
		}
		if tt.want >= 400 && body["error"] == nil {
			t.Errorf("%s: error body without an error: %s", tt.name, rec.Body)
		}
	}
}

func TestRiverMount(t *testing.T) {
	t.Parallel()
	river := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("river " + r.URL.Path)) })
	e := newEnv(t, Options{River: river})
	s := e.signIn()
	if rec := e.do(request{path: "/admin/river/"}); rec.Code != http.StatusUnauthorized {
		t.Errorf("River UI signed out = %d, want 401", rec.Code)
	}
	if rec := e.do(request{path: "/admin/river/api/jobs", header: bearer(testToken)}); rec.Code != http.StatusUnauthorized {
		t.Errorf("River UI with a bearer token only = %d, want 401 (it takes the session)", rec.Code)
	}
	if body := e.page(s, "/admin/river/jobs", http.StatusOK); body != "river /admin/river/jobs" {
		t.Errorf("River UI got %q", body)
	}
	if body := e.page(s, "/admin/", http.StatusOK); !strings.Contains(body, `href="/admin/river/"`) {
		t.Error("the admin page does not link River UI")
	}
	tests := []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"NoOrigin", nil, http.StatusForbidden},
		{"CrossSite", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://example.com"}, http.StatusForbidden},
		{"OtherOrigin", map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden},
		{"SameOriginFetch", map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusOK},
		{"SameOriginHeader", map[string]string{"Origin": "http://example.com"}, http.StatusOK},
	}
	for _, tt := range tests {
		rec := e.do(request{method: http.MethodPost, path: "/admin/river/api/jobs/retry", header: tt.header, cookies: []*http.Cookie{s}})
		if rec.Code != tt.want {
			t.Errorf("%s: POST to River UI = %d, want %d", tt.name, rec.Code, tt.want)
		}
	}
}
