// Package admin is the site owner's admin page under /admin/: server-rendered
// pages (counts by state, recent webhooks, a webhook's detail, Retry on failed
// ones) behind a sign-in with ADMIN_TOKEN, and a JSON API under /admin/api/
// for scripts (Authorization: Bearer ADMIN_TOKEN).
//
// The token never leaves the process: the sign-in cookie holds an HMAC of it,
// every form carries a CSRF token derived from the session, and failed
// attempts are slowed per client address.
package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/internal/history"
)

// MinTokenLength is the shortest accepted ADMIN_TOKEN.
const MinTokenLength = 24

// Page sizes.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// History is the webhook history the page shows and acts on
// (*history.History; a fake in tests).
type History interface {
	Counts(ctx context.Context) (map[string]int, error)
	List(ctx context.Context, f history.Filter) ([]history.Webhook, error)
	Get(ctx context.Context, id int64) (*history.Detail, error)
	Retry(ctx context.Context, ids ...int64) ([]int64, error)
}

// Options configure the admin page.
type Options struct {
	Token          string       // ADMIN_TOKEN, at least MinTokenLength characters
	WPURL          string       // WordPress site URL, for links to user profiles
	TrustedProxies []string     // whose X-Forwarded-Proto is believed (as TRUSTED_PROXIES)
	River          http.Handler // River UI for /admin/river/ (optional), built with that prefix
	SessionTTL     time.Duration
	Now            func() time.Time // clock (tests)
}

// Handler serves /admin/. Build it with New and mount it with Register.
type Handler struct {
	history History
	log     logrus.FieldLogger
	keys    keys
	wpURL   string
	proxies []netip.Prefix
	river   http.Handler
	ttl     time.Duration
	now     func() time.Time
	limiter *limiter
	revoked *revoked
	pages   pages
}

// New builds the admin handler.
func New(opts Options, h History, log logrus.FieldLogger) (*Handler, error) {
	if len(opts.Token) < MinTokenLength {
		return nil, fmt.Errorf("admin: token shorter than %d characters", MinTokenLength)
	}
	if h == nil {
		return nil, errors.New("admin: no history")
	}
	proxies, err := parsePrefixes(opts.TrustedProxies)
	if err != nil {
		return nil, err
	}
	pg, err := parsePages()
	if err != nil {
		return nil, err
	}
	a := &Handler{
		history: h, log: log, keys: newKeys(opts.Token), wpURL: strings.TrimRight(opts.WPURL, "/"),
		proxies: proxies, river: opts.River, ttl: opts.SessionTTL, now: opts.Now, pages: pg,
	}
	if a.ttl <= 0 {
		a.ttl = 12 * time.Hour
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.limiter = newLimiter(a.now)
	a.revoked = newRevoked()
	return a, nil
}

// Register adds the admin routes to g, a group mounted at /admin.
func (a *Handler) Register(g *gin.RouterGroup) {
	g.Use(securityHeaders)
	g.GET("", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/admin/") })
	g.GET("/static/admin.css", a.handleCSS)
	g.GET("/", a.requireSession, a.handleList)
	g.POST("/signin", a.handleSignIn)
	g.POST("/signout", a.requireSession, a.requireCSRF, a.handleSignOut)
	g.GET("/webhooks/:id", a.requireSession, a.handleDetail)
	g.POST("/webhooks/:id/retry", a.requireSession, a.requireCSRF, a.handleRetry)

	api := g.Group("/api", a.requireBearer)
	api.GET("/webhooks", a.apiList)
	api.GET("/webhooks/:id", a.apiGet)
	api.POST("/webhooks/:id/retry", a.apiRetry)

	if a.river != nil {
		river := func(c *gin.Context) { a.river.ServeHTTP(c.Writer, c.Request) }
		g.Any("/river", a.requireSession, a.sameOrigin, river)
		g.Any("/river/*path", a.requireSession, a.sameOrigin, river)
	}
}

// maxFormBody bounds the body of the admin page's forms.
const maxFormBody = 64 << 10

// securityHeaders keeps admin pages out of caches, frames and referrers.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	if !strings.HasPrefix(c.Request.URL.Path, "/admin/river") {
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; "+
			"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxFormBody)
	}
	c.Next()
}

func parsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("admin: trusted proxy %q: not an IP or CIDR", s)
		}
		out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
	}
	return out, nil
}
