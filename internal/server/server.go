// Package server is wpbridge's HTTP surface: the two webhook URL forms,
// health, readiness and metrics.
package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/internal/metrics"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

// MaxBody is the largest webhook body accepted (413 above it).
const MaxBody = 1 << 20

// Queue stores webhooks and reports their outcome (queue.Queue).
type Queue interface {
	// Arriving notes a webhook request being received until done is
	// called: a round is started at a webhook's arrival only while no
	// other is (queue.Options.RunAtArrival).
	Arriving() (done func())
	Submit(ctx context.Context, w webhook.Webhook) (webhook.Outcome, error)
	Wait(ctx context.Context, id int64, d time.Duration) (webhook.Outcome, error)
	Ready(ctx context.Context) error
}

// Options configure the server.
type Options struct {
	AccessKeys     []string      // accepted webhook access keys
	SyncTimeout    time.Duration // how long a webhook waits for its job before 202
	TrustedProxies []string      // CIDRs/IPs whose X-Forwarded-For is believed
	// UserExists says whether a WordPress user has the email (remove_access's
	// reassign=, answered 400 when none does); nil leaves the check to the
	// round, which then fails the webhook for good.
	UserExists func(ctx context.Context, email string) (bool, error)
	Admin      Admin // the admin page (admin.Handler); nil leaves /admin/ off (404)
}

// Admin registers the admin page's routes on the /admin group.
type Admin interface {
	Register(g *gin.RouterGroup)
}

// Server implements http.Handler.
type Server struct {
	engine   *gin.Engine
	queue    Queue
	keys     [][sha256.Size]byte
	timeout  time.Duration
	log      logrus.FieldLogger
	metrics  *metrics.Metrics
	draining atomic.Bool
	exists   func(ctx context.Context, email string) (bool, error)
}

// New builds the server and registers every route. m must not be nil (see
// metrics.Discard).
func New(opts Options, q Queue, log logrus.FieldLogger, m *metrics.Metrics) (*Server, error) {
	if len(opts.AccessKeys) == 0 {
		return nil, fmt.Errorf("server: no access key")
	}
	s := &Server{engine: gin.New(), queue: q, timeout: opts.SyncTimeout, log: log, metrics: m, exists: opts.UserExists}
	for _, k := range opts.AccessKeys {
		s.keys = append(s.keys, sha256.Sum256([]byte(k)))
	}
	if err := s.engine.SetTrustedProxies(opts.TrustedProxies); err != nil {
		return nil, fmt.Errorf("server: TRUSTED_PROXIES: %w", err)
	}
	s.engine.Use(s.accessLog, gin.CustomRecovery(s.recovered))
	for _, method := range []string{http.MethodGet, http.MethodPost} { // AC posts; GET for manual tests
		s.engine.Handle(method, "/", s.arriving, s.handleRoot)
		s.engine.Handle(method, "/webhooks/activecampaign/:action", s.arriving, s.handleClean)
	}
	s.engine.HandleMethodNotAllowed = true
	s.engine.NoMethod(func(c *gin.Context) {
		c.JSON(http.StatusMethodNotAllowed, reply{Status: "error", Message: "method not allowed: webhooks are GET or POST"})
	})
	s.engine.GET("/healthz", s.handleHealth)
	s.engine.GET("/readyz", s.handleReady)
	s.engine.GET("/metrics", gin.WrapH(m.Handler()))
	if opts.Admin != nil {
		opts.Admin.Register(s.engine.Group("/admin"))
	}
	s.engine.NoRoute(func(c *gin.Context) {
		c.JSON(http.StatusNotFound, reply{Status: "error", Message: "not found: webhooks go to /?wpf_action=ACTION&access_key=KEY or /webhooks/activecampaign/ACTION?access_key=KEY"})
	})
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

// Drain makes /readyz answer 503 so a load balancer stops sending traffic
// before shutdown. Webhooks are still accepted until the listener closes.
func (s *Server) Drain() { s.draining.Store(true) }

// reply is the JSON answer of every endpoint.
type reply struct {
	Status    string `json:"status"`
	Message   string `json:"message,omitempty"`
	WebhookID int64  `json:"webhook_id,omitempty"`
	UserID    int64  `json:"user_id,omitempty"`
}

func (s *Server) handleHealth(c *gin.Context) {
	c.JSON(http.StatusOK, reply{Status: "ok"})
}

func (s *Server) handleReady(c *gin.Context) {
	if s.draining.Load() {
		c.JSON(http.StatusServiceUnavailable, reply{Status: "unavailable", Message: "shutting down"})
		return
	}
	if err := s.queue.Ready(c.Request.Context()); err != nil {
		c.JSON(http.StatusServiceUnavailable, reply{Status: "unavailable", Message: err.Error()})
		return
	}
	c.JSON(http.StatusOK, reply{Status: "ok"})
}

// keyOK compares the presented key with every configured key in constant time.
func (s *Server) keyOK(presented string) bool {
	d := sha256.Sum256([]byte(presented))
	ok := 0
	for _, k := range s.keys {
		ok |= subtle.ConstantTimeCompare(d[:], k[:])
	}
	return ok == 1 && presented != ""
}

// accessLog logs each request without its query string (it carries the
// access key). Health checks and metrics scrapes log at debug level.
func (s *Server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	entry := s.log.WithFields(logrus.Fields{
		"method": c.Request.Method, "path": c.Request.URL.Path, "status": c.Writer.Status(),
		"duration_ms": time.Since(start).Milliseconds(), "client_ip": c.ClientIP(),
	})
	switch p := c.Request.URL.Path; {
	case p == "/healthz" || p == "/readyz" || p == "/metrics":
		entry.Debug("request")
	case c.Writer.Status() >= 500:
		entry.Warn("request")
	default:
		entry.Debug("request")
	}
}

func (s *Server) recovered(c *gin.Context, err any) {
	s.log.WithFields(logrus.Fields{"path": c.Request.URL.Path, "panic": fmt.Sprint(err)}).Error("panic while handling request")
	c.AbortWithStatusJSON(http.StatusInternalServerError, reply{Status: "error", Message: "internal error"})
}
