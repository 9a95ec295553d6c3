package admin

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

const testToken = "correct-horse-battery-staple-42"

// env is an admin handler on a fake history, mounted like internal/server does.
type env struct {
	t       *testing.T
	h       *Handler
	engine  *gin.Engine
	history *fakeHistory
	logs    *test.Hook
	now     time.Time
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	logger, hook := test.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	e := &env{t: t, history: &fakeHistory{}, logs: hook, now: time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)}
	if opts.Token == "" {
		opts.Token = testToken
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return e.now }
	}
	h, err := New(opts, e.history, logger)
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	e.engine = gin.New()
	if err := e.engine.SetTrustedProxies(opts.TrustedProxies); err != nil { // as internal/server does
		t.Fatal(err)
	}
	h.Register(e.engine.Group("/admin"))
	return e
}

// request describes one request of a test.
type request struct {
	method, path string
	form         url.Values
	cookies      []*http.Cookie
	header       map[string]string
	remote       string // RemoteAddr, default 192.0.2.1:1234
	tls          bool
}

func (e *env) do(r request) *httptest.ResponseRecorder {
	e.t.Helper()
	var body io.Reader
	if r.form != nil {
		body = strings.NewReader(r.form.Encode())
	}
	if r.method == "" {
		r.method = http.MethodGet
	}
	req := httptest.NewRequest(r.method, r.path, body)
	if r.form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	for _, c := range r.cookies {
		req.AddCookie(c)
	}
	req.RemoteAddr = "192.0.2.1:1234"
	if r.remote != "" {
		req.RemoteAddr = r.remote
	}
	if r.tls {
		req.TLS = &tls.ConnectionState{}
	}
	rec := httptest.NewRecorder()
	e.engine.ServeHTTP(rec, req)
	return rec
}

func cookie(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf returns the first CSRF token in a page.
func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf field in page:\n%s", body)
	}
	return m[1]
}

// signInForm fetches the sign-in page and returns its cookie and CSRF token.
func (e *env) signInForm(remote string) (*http.Cookie, string) {
	e.t.Helper()
	rec := e.do(request{path: "/admin/", remote: remote})
	if rec.Code != http.StatusUnauthorized {
		e.t.Fatalf("GET /admin/ signed out = %d, want 401", rec.Code)
	}
	c := cookie(rec, signinCookie)
	if c == nil {
		e.t.Fatal("sign-in page set no sign-in cookie")
	}
	return c, csrfOf(e.t, rec.Body.String())
}

// trySignIn posts the sign-in form with token from remote.
func (e *env) trySignIn(token, remote string) *httptest.ResponseRecorder {
	e.t.Helper()
	c, csrf := e.signInForm(remote)
	return e.do(request{method: http.MethodPost, path: "/admin/signin", remote: remote,
		form: url.Values{"token": {token}, "csrf": {csrf}}, cookies: []*http.Cookie{c}})
}

// signIn signs in and returns the session cookie.
func (e *env) signIn() *http.Cookie {
	e.t.Helper()
	rec := e.trySignIn(testToken, "")
	if rec.Code != http.StatusSeeOther {
		e.t.Fatalf("sign in = %d, want 303; body:\n%s", rec.Code, rec.Body)
	}
	c := cookie(rec, sessionCookie)
	if c == nil {
		e.t.Fatal("sign in set no session cookie")
	}
	return c
}

// page GETs path with the session and checks the status.
func (e *env) page(session *http.Cookie, path string, want int) string {
	e.t.Helper()
	rec := e.do(request{path: path, cookies: []*http.Cookie{session}})
	if rec.Code != want {
		e.t.Fatalf("GET %s = %d, want %d; body:\n%s", path, rec.Code, want, rec.Body)
	}
	return rec.Body.String()
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}
