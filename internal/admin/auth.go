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

// newSession returns a session value: its issue time, a random id (what
// sign-out revokes) and an HMAC over both.
func (k keys) newSession(now time.Time) string {
	v := strconv.FormatInt(now.Unix(), 10) + "." + rand.Text()
	return v + "." + k.sign("session", v)
}

// sessionOK checks a session value's HMAC and age, and returns its id.
func (k keys) sessionOK(v string, now time.Time, ttl time.Duration) (id string, ok bool) {
	i := strings.LastIndexByte(v, '.')
	if i < 0 || !hmac.Equal([]byte(v[i+1:]), []byte(k.sign("session", v[:i]))) {
		return "", false
	}
	ts, id, ok := strings.Cut(v[:i], ".")
	if !ok || id == "" {
		return "", false
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", false
	}
	issued := time.Unix(sec, 0)
	return id, now.Sub(issued) <= ttl && issued.Sub(now) <= time.Minute
}

// csrfFor is the CSRF token of the forms of a session.
func (k keys) csrfFor(session string) string { return k.sign("csrf", session) }

// session returns the request's valid, unrevoked session value, or "".
func (a *Handler) session(c *gin.Context) string {
	v, err := c.Cookie(sessionCookie)
	if err != nil {
		return ""
	}
	if id, ok := a.keys.sessionOK(v, a.now(), a.ttl); !ok || a.revoked.has(id) {
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
	return strings.EqualFold(c.GetHeader("X-Forwarded-Proto"), "https") && a.trusted(c)
}

// trusted reports whether the request's peer is one of TRUSTED_PROXIES.
func (a *Handler) trusted(c *gin.Context) bool {
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

// limitKey is what failed attempts are counted by: the client's address
// when it is known (a direct connection, or one through TRUSTED_PROXIES),
// else one shared key for everything that arrives through a proxy wpbridge
// was not told to trust (their address is the proxy's, not the client's).
func (a *Handler) limitKey(c *gin.Context) string {
	if c.GetHeader("X-Forwarded-For") == "" || a.trusted(c) {
		return c.ClientIP()
	}
	return "untrusted-proxy"
}

// throttled answers 429 with Retry-After when the client failed too often.
// It is asked only after a wrong token: a correct one is never blocked, so
// nobody can lock the owner out by failing from the owner's address.
func (a *Handler) throttled(c *gin.Context, api bool) bool {
	wait, blocked := a.limiter.blocked(a.limitKey(c))
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
	a.limiter.fail(a.limitKey(c))
	a.log.WithFields(logrus.Fields{"client_ip": c.ClientIP(), "attempt": what}).Warn("admin authentication failed")
}

// requireBearer guards the JSON API: Authorization: Bearer ADMIN_TOKEN.
func (a *Handler) requireBearer(c *gin.Context) {
	scheme, tok, _ := strings.Cut(c.GetHeader("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || !a.keys.tokenOK(strings.TrimSpace(tok)) {
		if a.throttled(c, true) {
			return
		}
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
	nonce, err := c.Cookie(signinCookie)
	if err != nil || !hmac.Equal([]byte(c.PostForm(csrfField)), []byte(a.keys.sign("signin", nonce))) {
		a.log.WithField("client_ip", c.ClientIP()).Warn("admin form refused: bad csrf token")
		a.renderError(c, http.StatusForbidden, "This form has expired or did not come from the admin page. Reload the page and try again.")
		return
	}
	if !a.keys.tokenOK(c.PostForm("token")) {
		if a.throttled(c, false) {
			return
		}
		a.failed(c, "sign-in")
		a.renderSignIn(c, http.StatusUnauthorized, "Wrong token.")
		return
	}
	a.limiter.reset(a.limitKey(c))
	a.setCookie(c, sessionCookie, a.keys.newSession(a.now()), int(a.ttl/time.Second))
	a.setCookie(c, signinCookie, "", -1)
	a.log.WithField("client_ip", c.ClientIP()).Info("admin signed in")
	c.Redirect(http.StatusSeeOther, "/admin/")
}

// handleSignOut revokes the session on the server (a copy of the cookie
// stops working too) and deletes the cookie.
func (a *Handler) handleSignOut(c *gin.Context) {
	if id, ok := a.keys.sessionOK(c.GetString(sessionCookie), a.now(), a.ttl); ok {
		a.revoked.add(id, a.now().Add(a.ttl+time.Minute), a.now())
	}
	a.setCookie(c, sessionCookie, "", -1)
	c.Redirect(http.StatusSeeOther, "/admin/")
}
