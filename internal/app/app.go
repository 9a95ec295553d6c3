// Package app wires wpbridge together from its configuration: database,
// API clients, rules, queue and HTTP server. cmd/wpbridge and the end-to-end
// tests both build it.
package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"
	"riverqueue.com/riverui"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/adapters"
	"github.com/wpbridge/wpbridge/internal/config"
	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/maintenance"
	"github.com/wpbridge/wpbridge/internal/metrics"
	"github.com/wpbridge/wpbridge/internal/queue"
	"github.com/wpbridge/wpbridge/internal/server"
	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/pkg/ratelimit"
	"github.com/wpbridge/wpbridge/wordpress"
)

// ShutdownTimeout bounds how long running work may take to finish on stop
// before it is interrupted and handed back to the queue.
const ShutdownTimeout = 20 * time.Second

// App is a configured wpbridge.
type App struct {
	cfg     *config.Config
	log     logrus.FieldLogger
	db      *store.DB
	AC      *activecampaign.Client // shares the queue's rate limiter
	Queue   *queue.Queue
	Server  *server.Server
	Metrics *metrics.Metrics
	riverUI *riverui.Handler    // River UI under /admin/river/ (nil when off)
	outbox  maintenance.Service // pulls the plugin's outbox (SYNC_TO_AC), or disables it
}

// Options tune the queue beyond the configuration (tests shorten retries).
// Zero values take the configuration's values or the queue's defaults.
type Options struct {
	RetryHorizon time.Duration // replaces RETRY_HORIZON (tests: shorter than it may be)
	RetryBase    time.Duration // first retry delay
	RetryCap     time.Duration // longest retry delay
	AuthPause    time.Duration // pause after rejected credentials
	// LeaveOutbox keeps a SYNC_TO_AC=false process from disabling the
	// plugin's outbox at start: for tests that share one WordPress with
	// tests of the outbox (cmd/wpbridge sets it from
	// WPBRIDGE_TEST_LEAVE_OUTBOX, which only tests set).
	LeaveOutbox bool
}

// Clients builds the two API clients from the configuration; their requests
// are counted in m.APIRequests. The AC requests keep within AC_RATE_LIMIT
// together with those of every process sharing db's budget: on PostgreSQL
// the whole fleet's (store.DB.ACBudget), otherwise, or when db is nil, this
// process's alone.
func Clients(cfg *config.Config, m *metrics.Metrics, db *store.DB) (*activecampaign.Client, *wordpress.Client, error) {
	var lim *ratelimit.Limiter
	if budget := db.ACBudget(); budget != nil {
		// The database remembers the slots of a process that stopped.
		lim = ratelimit.New(cfg.ACRateLimit, ratelimit.WithLedger(budget))
	} else {
		// A process restarted right after a crash does not know its
		// predecessor's requests of the last second: start with the window full.
		lim = ratelimit.New(cfg.ACRateLimit)
		lim.FillWindow()
	}
	ac, err := activecampaign.NewClient(cfg.ACAPIURL, cfg.ACAPIKey.Reveal(),
		activecampaign.WithLimiter(lim), activecampaign.WithHTTPClient(m.HTTPClient("activecampaign")))
	if err != nil {
		return nil, nil, fmt.Errorf("AC_API_URL: %w", err)
	}
	wp, err := wordpress.NewClient(cfg.WPURL, cfg.WPUsername, cfg.WPAppPassword.Reveal(),
		wordpress.WithMaxConcurrent(cfg.WPMaxConcurrent), wordpress.WithHTTPClient(m.HTTPClient("wordpress")))
	if err != nil {
		return nil, nil, fmt.Errorf("WP_URL: %w", err)
	}
	return ac, wp, nil
}

// SharedBudget opens the database when it is PostgreSQL and holds the
// fleet's AC budget, for clients made before the App (wpbridge import's first
// requests, and all of a dry run's) to share it (Clients); otherwise it
// returns nil: a database no wpbridge has migrated yet has no fleet to share
// with. It writes nothing but the budget's own records. Close it when done.
func SharedBudget(ctx context.Context, cfg *config.Config) (*store.DB, error) {
	if !store.IsPostgresURL(cfg.DatabaseURL) {
		return nil, nil
	}
	db, err := OpenDatabase(ctx, cfg)
	if err != nil {
		return nil, err
	}
	ok, err := db.HasACBudget(ctx)
	if err != nil || !ok {
		db.Close()
		if err != nil {
			return nil, fmt.Errorf("DATABASE_URL %s: %w", cfg.RedactedDatabaseURL(), err)
		}
		return nil, nil
	}
	return db, nil
}

// Policy turns the configuration into the rules' policy.
func Policy(cfg *config.Config) contactsync.Policy {
	return contactsync.Policy{
		DefaultRole: cfg.DefaultRole, AllowedRoles: cfg.AllowedRoles, UsernameFormat: cfg.UsernameFormat,
		PasswordLength: cfg.PasswordLength, ReturnPasswordField: cfg.ReturnPasswordField,
		ReturnLinkField: cfg.ReturnLinkField, SiteURL: cfg.WPURL,
		FieldMap: cfg.FieldMap, TagsMetaKey: cfg.TagsMetaKey, ContactIDMetaKey: cfg.ContactIDMetaKey,
		TagRoles: cfg.TagRoles, FireHooks: true,
	}
}

// OpenDatabase opens the database named by DATABASE_URL. Errors name it,
// password redacted. On PostgreSQL, pending passwords and links are kept
// sealed under SECRET_KEY when it is set (config requires it there when a
// return field is).
func OpenDatabase(ctx context.Context, cfg *config.Config) (*store.DB, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL %s: %w", cfg.RedactedDatabaseURL(), err)
	}
	if db.Backend != store.SQLite && cfg.SecretKey != "" {
		if err := db.Passwords.SetSecretKey(cfg.SecretKey.Reveal()); err != nil {
			db.Close()
			return nil, fmt.Errorf("SECRET_KEY: %w", err)
		}
	}
	return db, nil
}

// Migrate creates or upgrades the database schema (wpbridge's tables and
// River's) and closes the database: wpbridge migrate. Several processes may
// run it (or start serving) against one PostgreSQL database at once.
func Migrate(ctx context.Context, cfg *config.Config) error {
	db, err := OpenDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return fmt.Errorf("DATABASE_URL %s: %w", cfg.RedactedDatabaseURL(), err)
	}
	return db.Close()
}

// New opens the database (running migrations) and builds everything. Close
// it when done.
func New(ctx context.Context, cfg *config.Config, log logrus.FieldLogger, opts Options) (*App, error) {
	m := metrics.New()
	db, err := OpenDatabase(ctx, cfg)
	if err != nil {
		return nil, err
	}
	ac, wp, err := Clients(cfg, m, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	for _, f := range db.Tightened {
		log.WithField("file", f).Warn("database file was readable by other users: permissions set to 0600")
	}
	a := &App{cfg: cfg, log: log, db: db, AC: ac, Metrics: m}
	if err := a.build(ctx, ac, wp, opts); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

// seenUsers is how many contacts' users the rules remember, so that their
// next round is one WordPress request (a few MB at most).
const seenUsers = 10000

// build makes the rules, the queue and the server on the open database.
func (a *App) build(ctx context.Context, ac *activecampaign.Client, wp *wordpress.Client, opts Options) error {
	syncer := &contactsync.Syncer{
		Contacts:  &adapters.Contacts{AC: ac, Echoes: adapters.StoreEchoes{Echoes: a.db.Echoes}},
		Users:     &adapters.Users{WP: wp},
		Roles:     &adapters.Roles{WP: wp},
		Passwords: a.db.Passwords,
		Seen:      contactsync.NewSeen(seenUsers),
		Policy:    Policy(a.cfg),
	}
	// The rounds of WordPress users: outbox events (SYNC_TO_AC) and
	// wpbridge import --from-wordpress.
	syncer.ToAC = a.toAC(ac, wp)
	a.outbox = maintenance.None{}
	if a.cfg.SyncToAC || !opts.LeaveOutbox {
		a.outbox = a.outboxService(wp)
	}
	qopts := queue.Options{
		Workers: a.cfg.Workers, RetryHorizon: a.cfg.RetryHorizon, HistoryRetention: a.cfg.HistoryRetention,
		MaxPending: a.cfg.MaxPending, ACRateLimit: a.cfg.ACRateLimit, ReserveAC: ac.Reserve,
		RetryBase: opts.RetryBase, RetryCap: opts.RetryCap, AuthPause: opts.AuthPause,
		RunAtArrival: true,
	}
	if opts.RetryHorizon > 0 {
		qopts.RetryHorizon = opts.RetryHorizon
	}
	var err error
	a.Queue, err = queue.New(ctx, a.db, syncer, adapters.Classify, qopts, a.log.WithField("component", "worker"), a.Metrics)
	if err != nil {
		return err
	}
	var keys []string
	for _, k := range a.cfg.AccessKeys {
		keys = append(keys, k.Reveal())
	}
	sopts := server.Options{AccessKeys: keys, SyncTimeout: a.cfg.SyncTimeout, TrustedProxies: a.cfg.TrustedProxies,
		UserExists: syncer.UserExists}
	if sopts.Admin, err = a.adminHandler(History(a.db)); err != nil {
		return err
	}
	a.Server, err = server.New(sopts, a.Queue, a.log.WithField("component", "http"), a.Metrics)
	return err
}

// Serve starts the workers and serves HTTP on ln until ctx ends, then shuts
// down in order: readiness fails, the listener stops accepting and open
// requests finish, running work finishes (or is handed back), the database
// closes.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	if err := a.Queue.Start(ctx); err != nil {
		return err
	}
	a.outbox.Start(ctx)
	defer a.outbox.Stop()
	if a.riverUI != nil {
		if err := a.riverUI.Start(ctx); err != nil {
			return fmt.Errorf("river ui: %w", err)
		}
	}
	srv := &http.Server{
		Handler:           a.Server,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      a.cfg.SyncTimeout + 30*time.Second,
		IdleTimeout:       120 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.WithField("addr", ln.Addr().String()).Info("wpbridge listening")

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	a.log.Info("shutting down")
	a.outbox.Stop() // nothing more stored: what is pulled and not stored is pulled again
	a.Server.Drain()
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		serveErr = errors.Join(serveErr, fmt.Errorf("http shutdown: %w", err))
	}
	if err := a.Queue.Stop(shutCtx); err != nil {
		serveErr = errors.Join(serveErr, err)
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	a.log.Info("stopped")
	return serveErr
}

// Close closes the database.
func (a *App) Close() error { return a.db.Close() }

// DB is the app's database (opened with the work lock), for commands that
// run the queue themselves and follow their own webhooks (wpbridge import).
func (a *App) DB() *store.DB { return a.db }
