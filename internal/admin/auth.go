package admin

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"
)

// Cookie names. Both live under /admin/ only.
const (
	sessionCookie = "wpbridge_admin"        // signed-in session
	signinCookie  = "wpbridge_admin_signin" // binds the sign-in form's CSRF token
	csrfField     = "csrf"
)

// keys derives everything from the token: nothing stored or sent holds it.
type keys struct {
	digest [sha256.Size]byte // SHA-256 of the token, for constant-time compares
	mac    []byte            // HMAC key
}

func newKeys(token string) keys {
	return keys{digest: sha256.Sum256([]byte(token)), mac: []byte("wpbridge-admin-v1\x00" + token)}
}

func (k keys) sign(purpose, value string) string {
	m := hmac.New(sha256.New, k.mac)
	m.Write([]byte(purpose + "\x00" + value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// tokenOK compares a presented token with the configured one in constant time.
func (k keys) tokenOK(presented string) bool {
	d := sha256.Sum256([]byte(presented))
	return subtle.ConstantTimeCompare(d[:], k.digest[:]) == 1
}

// newSession returns a session value: its issue time and an HMAC over it.
func (k keys) newSession(now time.Time) string {
	ts := strconv.FormatInt(now.Unix(), 10)
	return ts + "." + k.sign("session", ts)
}

// sessionOK checks a session value's HMAC and age.
func (k keys) sessionOK(v string, now time.Time, ttl time.Duration) bool {
	ts, mac, ok := strings.Cut(v, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(k.sign("session", ts))) {
		return false
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	issued := time.Unix(sec, 0)
	return now.Sub(issued) <= ttl && issued.Sub(now) <= time.Minute
}

// csrfFor is the CSRF token of the forms of a session.
func (k keys) csrfFor(session string) string { return k.sign("csrf", session) }

// session returns the request's valid session value, or "".
func (a *Handler) session(c *gin.Context) string {
	v, err := c.Cookie(sessionCookie)
	if err != nil || !a.keys.sessionOK(v, a.now(), a.ttl) {
		return ""
	}
	return v
}

// secure reports whether the request reached us over HTTPS: TLS, or a
// trusted proxy saying so in X-Forwarded-Proto.
func (a *Handler) secure(c *gin.Context) bool {
	if c.Request.TLS != nil {
		return true
	}
	if !strings.EqualFold(c.GetHeader("X-Forwarded-Proto"), "https") {
		return false
	}
	ap, err := netip.ParseAddrPort(c.Request.RemoteAddr)
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, p := range a.proxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (a *Handler) setCookie(c *gin.Context, name, value string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: name, Value: value, Path: "/admin/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: a.secure(c),
	})
}

// signinCSRF returns the sign-in form's CSRF token, setting the cookie it is
// bound to when the request has none.
func (a *Handler) signinCSRF(c *gin.Context) string {
	nonce, err := c.Cookie(signinCookie)
	if err != nil || len(nonce) < 16 {
		nonce = rand.Text()
		a.setCookie(c, signinCookie, nonce, 3600)
	}
	return a.keys.sign("signin", nonce)
}

// requireSession lets signed-in requests through and answers 401 with the
// sign-in form otherwise.
func (a *Handler) requireSession(c *gin.Context) {
	if s := a.session(c); s != "" {
		c.Set(sessionCookie, s)
		c.Next()
		return
	}
	a.renderSignIn(c, http.StatusUnauthorized, "")
	c.Abort()
}

// requireCSRF checks the form's CSRF token against the session: 403 without it.
func (a *Handler) requireCSRF(c *gin.Context) {
	want := a.keys.csrfFor(c.GetString(sessionCookie))
	if !hmac.Equal([]byte(c.PostForm(csrfField)), []byte(want)) {
		a.log.WithField("client_ip", c.ClientIP()).Warn("admin form refused: bad csrf token")
		a.renderError(c, http.StatusForbidden, "This form has expired or did not come from the admin page. Reload the page and try again.")
		c.Abort()
		return
	}
	c.Next()
}

// sameOrigin refuses state-changing requests to the River UI that did not
// come from a page of this origin (its API takes no CSRF token).
func (a *Handler) sameOrigin(c *gin.Context) {
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		c.Next()
		return
	}
	site := c.GetHeader("Sec-Fetch-Site")
	origin := c.GetHeader("Origin")
	ok := site == "same-origin" || (site == "" && origin != "" && strings.TrimPrefix(strings.TrimPrefix(origin, "https://"), "http://") == c.Request.Host)
	if !ok {
		c.AbortWithStatusJSON(http.StatusForbidden, apiError{Error: "cross-site request refused"})
		return
	}
	c.Next()
}

// throttled answers 429 with Retry-After when the client failed too often.
func (a *Handler) throttled(c *gin.Context, api bool) bool {
	wait, blocked := a.limiter.blocked(c.ClientIP())
	if !blocked {
		return false
	}
	c.Header("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	const msg = "Too many failed attempts from your address. Wait a little and try again."
	if api {
		c.AbortWithStatusJSON(http.StatusTooManyRequests, apiError{Error: msg})
	} else {
		a.renderError(c, http.StatusTooManyRequests, msg)
		c.Abort()
	}
	return true
}

// failed records a failed attempt and logs it, never with what was presented.
func (a *Handler) failed(c *gin.Context, what string) {
	a.limiter.fail(c.ClientIP())
	a.log.WithFields(logrus.Fields{"client_ip": c.ClientIP(), "attempt": what}).Warn("admin authentication failed")
}

// requireBearer guards the JSON API: Authorization: Bearer ADMIN_TOKEN.
func (a *Handler) requireBearer(c *gin.Context) {
	if a.throttled(c, true) {
		return
	}
	scheme, tok, _ := strings.Cut(c.GetHeader("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || !a.keys.tokenOK(strings.TrimSpace(tok)) {
		if tok != "" {
			a.failed(c, "bearer")
		}
		c.Header("WWW-Authenticate", `Bearer realm="wpbridge admin"`)
		c.AbortWithStatusJSON(http.StatusUnauthorized, apiError{Error: "missing or wrong token"})
		return
	}
	c.Next()
}

// handleSignIn checks the token of the sign-in form and starts a session.
func (a *Handler) handleSignIn(c *gin.Context) {
	if a.throttled(c, false) {
		return
	}
	nonce, err := c.Cookie(signinCookie)
	if err != nil || !hmac.Equal([]byte(c.PostForm(csrfField)), []byte(a.keys.sign("signin", nonce))) {
		a.log.WithField("client_ip", c.ClientIP()).Warn("admin form refused: bad csrf token")
		a.renderError(c, http.StatusForbidden, "This form has expired or did not come from the admin page. Reload the page and try again.")
		return
	}
	if !a.keys.tokenOK(c.PostForm("token")) {
		a.failed(c, "sign-in")
		a.renderSignIn(c, http.StatusUnauthorized, "Wrong token.")
		return
	}
	a.limiter.reset(c.ClientIP())
	a.setCookie(c, sessionCookie, a.keys.newSession(a.now()), int(a.ttl/time.Second))
	a.setCookie(c, signinCookie, "", -1)
	a.log.WithField("client_ip", c.ClientIP()).Info("admin signed in")
	c.Redirect(http.StatusSeeOther, "/admin/")
}

func (a *Handler) handleSignOut(c *gin.Context) {
	a.setCookie(c, sessionCookie, "", -1)
	c.Redirect(http.StatusSeeOther, "/admin/")
}
