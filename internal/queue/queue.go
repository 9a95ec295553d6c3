package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/metrics"
	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

// Runner does one round of work for a contact (contactsync.Syncer).
type Runner interface {
	Run(ctx context.Context, req contactsync.Request) (contactsync.Result, error)
}

// Options tune the queue. Zero values take the defaults.
type Options struct {
	Workers int // concurrent rounds (default 10)
	// RetryHorizon is how long a webhook's temporary failures are retried,
	// counted from its own arrival or its last manual retry (RETRY_HORIZON,
	// default 72h).
	RetryHorizon time.Duration
	RetryBase    time.Duration // first retry delay (default 1s)
	RetryCap     time.Duration // longest retry delay (default 1h)
	AuthPause    time.Duration // pause after rejected credentials (default 30s)
	// PollInterval is how often idle workers look for jobs (default 50ms).
	// A webhook's job does not wait for it: Submit wakes the workers
	// (store.DB.JobsInserted; NOTIFY on PostgreSQL). It bounds the wait of
	// jobs nothing announces, such as a snoozed job coming due.
	PollInterval     time.Duration
	JobTimeout       time.Duration // longest round (default 2m)
	HistoryRetention time.Duration // finished webhooks are deleted after this (HISTORY_RETENTION, default 720h)
	MaxPending       int           // pending webhooks at most; Submit refuses more (default DefaultMaxPending)
	ACRateLimit      int           // AC requests per second, shared by the rounds (AC_RATE_LIMIT; 0: unknown), for Wait
	// ReserveAC waits for a slot of AC's budget and keeps it for the first
	// AC request made with the context it returns; release gives it back if
	// none was (activecampaign.Client.Reserve). A round waits for it before
	// it claims its contact's webhooks, so that the webhooks that arrive
	// while it waits are covered too instead of needing a round of their
	// own. nil: rounds claim at once.
	ReserveAC func(ctx context.Context) (reqCtx context.Context, release func(), err error)
	// Now is the clock of arrivals, retry horizons and retention (default
	// time.Now); tests move it. River's own scheduling uses the real clock.
	Now func() time.Time
}

// Defaults of Options.
const (
	DefaultRetryHorizon     = 72 * time.Hour
	DefaultHistoryRetention = 720 * time.Hour
	DefaultMaxPending       = 100_000 // MAX_PENDING's default
)

// jobMaxAttempts is River's attempt limit of a job, set so high that it
// never ends the work: a webhook's retry horizon does. It fits Postgres'
// smallint column.
const jobMaxAttempts = 32000

func (o *Options) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.Workers <= 0 {
		o.Workers = 10
	}
	set(&o.RetryHorizon, DefaultRetryHorizon)
	if o.MaxPending <= 0 {
		o.MaxPending = DefaultMaxPending
	}
	set(&o.RetryBase, time.Second)
	set(&o.RetryCap, time.Hour)
	set(&o.AuthPause, 30*time.Second)
	set(&o.PollInterval, 50*time.Millisecond)
	set(&o.JobTimeout, 2*time.Minute)
	set(&o.HistoryRetention, DefaultHistoryRetention)
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Queue is the durable webhook queue and its workers.
type Queue struct {
	load     load // work ahead, for answering 202 at once
	db       *store.DB
	river    *river.Client[*sql.Tx]
	runner   Runner
	classify Classifier
	opts     Options
	log      logrus.FieldLogger
	metrics  *metrics.Metrics

	locks   contactLocks
	waiters waiters
	commits groupCommit
	pending pendingCount // used by the committing leader only

	mu          sync.Mutex
	pausedUntil time.Time
	pauseReason string
	backoff     map[string]time.Time // contact -> no new round before
	started     bool
	stopCleaner context.CancelFunc
	cleanerDone chan struct{}

	live     *liveness // PostgreSQL: this replica's lock and the rescue of gone ones' jobs
	stopLive context.CancelFunc
	liveDone chan struct{}
}

// New migrates the database (store.DB.Migrate: wpbridge's tables and
// River's) and builds the queue on it. It does not start working; call
// Start. A nil classify makes every failure Temporary; m must not be nil (see
// metrics.Discard).
func New(ctx context.Context, db *store.DB, runner Runner, classify Classifier, opts Options, log logrus.FieldLogger, m *metrics.Metrics) (*Queue, error) {
	opts.defaults()
	if classify == nil {
		classify = func(error) webhook.Verdict { return webhook.Verdict{Class: webhook.Temporary} }
	}
	if err := checkPool(db, opts.Workers); err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	q := &Queue{
		db: db, runner: runner, classify: classify, opts: opts, log: log, metrics: m,
		locks: contactLocks{held: map[string]bool{}}, waiters: waiters{m: map[int64][]chan webhook.Outcome{}},
		backoff: map[string]time.Time{},
	}
	q.live = &liveness{db: db, id: newClientID(), log: log}
	var err error
	if q.river, err = q.newRiver(db.RiverDriver()); err != nil {
		return nil, err
	}
	m.SetDepthFunc(q.depth)
	return q, nil
}

// poolSpare is how many connections River, the webhook handlers and the
// replica lock (liveness) need beside the rounds.
const poolSpare = 5

// checkPool refuses a PostgreSQL pool too small for the workers: each round
// keeps a connection for its contact's lock (store.DB.LockContact) and needs
// another for its queries.
func checkPool(db *store.DB, workers int) error {
	size := db.SQL.Stats().MaxOpenConnections
	if db.Backend != store.PostgreSQL || size == 0 || size >= workers+poolSpare {
		return nil
	}
	return fmt.Errorf("queue: a pool of %d database connections is too small for %d workers: "+
		"set pool_max_conns=%d or more in DATABASE_URL, or fewer WORKERS", size, workers, workers+poolSpare)
}

func (q *Queue) newRiver(driver riverdriver.Driver[*sql.Tx]) (*river.Client[*sql.Tx], error) {
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &syncWorker{q: q}); err != nil {
		return nil, fmt.Errorf("queue: add worker: %w", err)
	}
	c, err := river.NewClient(driver, &river.Config{
		ID:                q.live.id, // liveness.go: the replica lock is taken on it
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: q.opts.Workers}},
		Workers:           workers,
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: q.opts.PollInterval,
		JobTimeout:        q.opts.JobTimeout,
		// The backstop: on PostgreSQL a gone replica's jobs are resumed
		// within rescueInterval by liveness.rescueGone (liveness.go says why
		// a shorter time-based rescue would not do); this catches what a
		// lock cannot show. On SQLite Start resumes them.
		RescueStuckJobsAfter: q.opts.JobTimeout + 3*time.Minute,
		MaxAttempts:          jobMaxAttempts,
		RetryPolicy:          &backoffPolicy{base: q.opts.RetryBase, cap: q.opts.RetryCap},
		Logger:               slog.New(riverLog{log: q.log}),
	})
	if err != nil {
		return nil, fmt.Errorf("queue: create river client: %w", err)
	}
	return c, nil
}

// depth reports the number of unfinished webhooks (-1 when unknown).
func (q *Queue) depth() float64 {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n, err := q.db.Webhooks.Unfinished(ctx)
	if err != nil {
		return -1
	}
	return float64(n)
}

// Start rescues work left running by a killed process and starts the workers.
// A database opened without the work lock (store.OpenSQLiteShared) is
// refused: only the server works jobs.
func (q *Queue) Start(ctx context.Context) error {
	if !q.db.OwnsWork() {
		return errors.New("queue: the database was opened without the work lock; only the server works jobs")
	}
	if err := q.rescueOrphans(ctx); err != nil {
		return err
	}
	// River stops when its start context ends; stopping is Stop's job.
	if err := q.river.Start(context.WithoutCancel(ctx)); err != nil {
		q.live.release()
		return fmt.Errorf("queue: start workers: %w", err)
	}
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	q.mu.Lock()
	q.started, q.stopCleaner, q.cleanerDone = true, cancel, make(chan struct{})
	q.mu.Unlock()
	go q.cleanLoop(cctx)
	if q.db.Backend == store.PostgreSQL {
		lctx, lcancel := context.WithCancel(context.WithoutCancel(ctx))
		q.stopLive, q.liveDone = lcancel, make(chan struct{})
		go q.live.loop(lctx, q.liveDone)
	}
	return nil
}

// rescueOrphans makes the jobs an earlier process left running available
// again, on SQLite: the database lock taken by store.OpenSQLite guarantees no
// other process works them, so they are orphans. On PostgreSQL several
// processes share the jobs and a running job may belong to a live one: there
// this replica takes its own liveness lock and hands back the jobs of the
// replicas that are gone (liveness.go), as it then does every rescueInterval.
func (q *Queue) rescueOrphans(ctx context.Context) error {
	if q.db.Backend == store.PostgreSQL {
		if err := q.live.hold(ctx); err != nil { // before River's first fetch names this client
			return err
		}
		q.live.rescueOnce(ctx)
		return nil
	}
	if q.db.Backend != store.SQLite {
		return nil
	}
	res, err := q.db.SQL.ExecContext(ctx, `UPDATE river_job SET state = 'available', scheduled_at = datetime('now', 'subsec') WHERE state = 'running'`)
	if err != nil {
		return fmt.Errorf("queue: rescue orphaned jobs: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		q.log.WithField("jobs", n).Warn("resumed jobs interrupted by an earlier stop")
	}
	return nil
}

// Stop stops fetching jobs and waits for running rounds until ctx ends; then
// their contexts are cancelled and they hand their webhooks back to pending.
func (q *Queue) Stop(ctx context.Context) error {
	q.mu.Lock()
	started, cancel, done := q.started, q.stopCleaner, q.cleanerDone
	q.started = false
	q.mu.Unlock()
	if !started {
		return nil
	}
	cancel()
	<-done
	err := q.river.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		stopCtx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		err = q.river.StopAndCancel(stopCtx)
	}
	if err != nil {
		// Rounds may still run: the replica lock stays until the process ends.
		return fmt.Errorf("queue: stop workers: %w", err)
	}
	q.stopLiveness()
	return nil
}

// stopLiveness ends the rescue loop and gives the replica lock back, once no
// job of this replica runs.
func (q *Queue) stopLiveness() {
	if q.stopLive == nil {
		return
	}
	q.stopLive()
	<-q.liveDone
	q.stopLive = nil
	q.live.release()
}

// waitPoll is how often Wait reads the outcome on PostgreSQL, where another
// process may work the webhook and notify only its own waiters.
const waitPoll = 100 * time.Millisecond

// Wait waits up to d for webhook id to finish and returns where it stands.
// When the work ahead (the AC budget the pending rounds need, or waves of
// Workers rounds; see load) will take longer than d, it returns at once:
// the caller answers 202 now instead of at the end of a wait that cannot
// succeed.
func (q *Queue) Wait(ctx context.Context, id int64, d time.Duration) (webhook.Outcome, error) {
	ch := q.waiters.add(id)
	defer q.waiters.remove(id, ch)
	o, err := q.db.Webhooks.Outcome(ctx, id)
	if err != nil || o.Final() || d <= 0 {
		return o, err
	}
	if q.cannotFinish(d) {
		return o, nil // it cannot finish in time: no use holding the caller
	}
	t := time.NewTimer(d)
	defer t.Stop()
	var poll <-chan time.Time
	if q.db.Backend == store.PostgreSQL {
		tk := time.NewTicker(waitPoll)
		defer tk.Stop()
		poll = tk.C
	}
	for {
		select {
		case o := <-ch:
			return o, nil
		case <-t.C:
			return o, nil
		case <-ctx.Done():
			return o, nil
		case <-poll:
			if cur, err := q.db.Webhooks.Outcome(ctx, id); err == nil && cur.Final() {
				return cur, nil
			}
		}
	}
}

// Outcome returns where webhook id stands.
func (q *Queue) Outcome(ctx context.Context, id int64) (webhook.Outcome, error) {
	return q.db.Webhooks.Outcome(ctx, id)
}

// readyPingTimeout bounds Ready's check of the database.
const readyPingTimeout = 5 * time.Second

// Ready says why work cannot proceed now, or nil.
func (q *Queue) Ready(ctx context.Context) error {
	q.mu.Lock()
	started := q.started
	q.mu.Unlock()
	if !started {
		return errors.New("workers not running")
	}
	if d, reason := q.pauseState(ctx); d > 0 {
		return fmt.Errorf("work paused: %s", reason)
	}
	pctx, cancel := context.WithTimeout(ctx, readyPingTimeout) // an unreachable database must not hang /readyz
	defer cancel()
	if err := q.db.Ping(pctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	return nil
}

// sharedPauseTimeout bounds each read or write of the pause in the database.
const sharedPauseTimeout = 5 * time.Second

// pause stops all rounds until d from now, e.g. after rejected credentials:
// on PostgreSQL every replica's (the pause is kept in the database).
func (q *Queue) pause(d time.Duration, reason string) {
	q.mu.Lock()
	if until := time.Now().Add(d); until.After(q.pausedUntil) {
		q.pausedUntil = until
	}
	q.pauseReason = reason
	q.metrics.Paused.WithLabelValues(reason).Set(1)
	q.mu.Unlock()
	if q.db.Backend == store.PostgreSQL {
		ctx, cancel := context.WithTimeout(context.Background(), sharedPauseTimeout)
		defer cancel()
		if err := q.db.PauseWork(ctx, d, reason); err != nil {
			q.log.WithError(err).Warn("could not pause the other replicas")
		}
	}
}

// resume clears a pause after a round succeeded (on PostgreSQL, the fleet's).
func (q *Queue) resume() {
	q.mu.Lock()
	if q.pauseReason != "" {
		q.metrics.Paused.WithLabelValues(q.pauseReason).Set(0)
	}
	q.pausedUntil, q.pauseReason = time.Time{}, ""
	q.mu.Unlock()
	if q.db.Backend == store.PostgreSQL {
		ctx, cancel := context.WithTimeout(context.Background(), sharedPauseTimeout)
		defer cancel()
		if err := q.db.ResumeWork(ctx); err != nil {
			q.log.WithError(err).Warn("could not resume the other replicas")
		}
	}
}

func (q *Queue) pausedFor() time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), sharedPauseTimeout)
	defer cancel()
	d, _ := q.pauseState(ctx)
	return d
}

// pauseState returns how much longer work is paused, and why: on PostgreSQL
// the pause kept in the database, set by any replica (this process's own
// while the database cannot be read), on SQLite this process's.
func (q *Queue) pauseState(ctx context.Context) (time.Duration, string) {
	if q.db.Backend == store.PostgreSQL {
		if d, reason, err := q.db.WorkPaused(ctx); err == nil {
			return d, reason
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return time.Until(q.pausedUntil), q.pauseReason
}

// cleanLoop deletes, hourly, finished webhooks past HistoryRetention,
// passwords no round needs any more (Finish drops them already; this is the
// backstop) and expired records of our AC writes.
func (q *Queue) cleanLoop(ctx context.Context) {
	defer close(q.cleanerDone)
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		now := q.opts.Now()
		for _, err := range []error{
			q.db.Webhooks.DeleteFinished(ctx, now.Add(-q.opts.HistoryRetention)),
			q.db.Passwords.DeleteUnneeded(ctx),
			q.db.Echoes.DeleteExpired(ctx),
		} {
			if err != nil && ctx.Err() == nil {
				q.log.WithError(err).Warn("clean old records")
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
