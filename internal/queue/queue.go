package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/internal/admission"
	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/fleet"
	"github.com/wpbridge/wpbridge/internal/maintenance"
	"github.com/wpbridge/wpbridge/internal/metrics"
	"github.com/wpbridge/wpbridge/internal/riverlog"
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
	// RunAtArrival starts the round of a webhook answered synchronously
	// at once when this process has nothing else to do, instead of when
	// River hands its job to a worker (inline.go). The job stays, and
	// runs whatever that round left.
	RunAtArrival bool
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
	admit    *admission.Admission // pending limit and work ahead (the early 202)
	fleet    fleet.Fleet          // contact locks, shared pause, liveness
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
	cleaner maintenance.Service

	mu      sync.Mutex
	backoff map[string]time.Time // contact -> no new round before
	started bool
	// Rounds started at arrival (inline.go): their context, cancelled
	// on Stop, and the group Stop waits for.
	inlineCtx    context.Context
	cancelInline context.CancelFunc
	inline       sync.WaitGroup
	arriving     atomic.Int64 // webhook requests being received (Arriving)
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
	fl := fleet.New(db, log)
	if err := fl.CheckPool(opts.Workers); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	if err := db.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	q := &Queue{
		db: db, runner: runner, classify: classify, opts: opts, log: log, metrics: m,
		locks: contactLocks{held: map[string]bool{}}, waiters: waiters{m: map[int64][]chan webhook.Outcome{}},
		backoff: map[string]time.Time{}, fleet: fl,
		admit:   admission.New(opts.MaxPending, opts.Workers, opts.ACRateLimit),
		cleaner: maintenance.NewCleaner(db, opts.HistoryRetention, opts.Now, log),
	}
	var err error
	if q.river, err = q.newRiver(db.RiverDriver()); err != nil {
		return nil, err
	}
	m.SetDepthFunc(q.depth)
	return q, nil
}

func (q *Queue) newRiver(driver riverdriver.Driver[*sql.Tx]) (*river.Client[*sql.Tx], error) {
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &syncWorker{q: q}); err != nil {
		return nil, fmt.Errorf("queue: add worker: %w", err)
	}
	c, err := river.NewClient(driver, &river.Config{
		ID:                q.fleet.ID(), // the fleet's liveness is held on it
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: q.opts.Workers}},
		Workers:           workers,
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: q.opts.PollInterval,
		JobTimeout:        q.opts.JobTimeout,
		// The backstop: a gone replica's jobs are resumed by the fleet
		// (docs/liveness.md says why a shorter time-based rescue would not
		// do); this catches what a lock cannot show.
		RescueStuckJobsAfter: q.opts.JobTimeout + 3*time.Minute,
		MaxAttempts:          jobMaxAttempts,
		RetryPolicy:          &backoffPolicy{base: q.opts.RetryBase, cap: q.opts.RetryCap},
		Logger:               riverlog.Logger(q.log, "river"),
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

// Start hands back the work left running by processes that are gone
// (fleet.Fleet.Join) and starts the workers and the background services. A
// database opened without the work lock (store.OpenSQLiteShared) is
// refused: only the server works jobs.
func (q *Queue) Start(ctx context.Context) error {
	if !q.db.OwnsWork() {
		return errors.New("queue: the database was opened without the work lock; only the server works jobs")
	}
	if err := q.fleet.Join(ctx); err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	// River stops when its start context ends; stopping is Stop's job.
	if err := q.river.Start(context.WithoutCancel(ctx)); err != nil {
		q.fleet.Leave()
		return fmt.Errorf("queue: start workers: %w", err)
	}
	q.mu.Lock()
	q.started = true
	q.inlineCtx, q.cancelInline = context.WithCancel(context.WithoutCancel(ctx))
	q.mu.Unlock()
	q.cleaner.Start(ctx)
	q.fleet.Rescuer().Start(ctx)
	return nil
}

// Stop stops fetching jobs and waits for running rounds until ctx ends; then
// their contexts are cancelled and they hand their webhooks back to pending.
func (q *Queue) Stop(ctx context.Context) error {
	q.mu.Lock()
	started := q.started
	q.started = false
	q.mu.Unlock()
	if !started {
		return nil
	}
	q.cleaner.Stop()
	err := q.river.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		stopCtx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		err = q.river.StopAndCancel(stopCtx)
	}
	q.stopInline(ctx, 10*time.Second)
	if err != nil {
		// Rounds may still run: the liveness stays until the process ends.
		return fmt.Errorf("queue: stop workers: %w", err)
	}
	q.fleet.Rescuer().Stop()
	q.fleet.Leave() // no job of this process runs any more
	return nil
}

// Wait waits up to d for webhook id to finish and returns where it stands.
// When the work ahead will take longer than d (admission.CannotFinish), it
// returns at once: the caller answers 202 now.
func (q *Queue) Wait(ctx context.Context, id int64, d time.Duration) (webhook.Outcome, error) {
	ch := q.waiters.add(id)
	defer q.waiters.remove(id, ch)
	o, err := q.db.Webhooks.Outcome(ctx, id)
	if err != nil || o.Final() || d <= 0 {
		return o, err
	}
	if q.admit.CannotFinish(d) {
		return o, nil // it cannot finish in time: no use holding the caller
	}
	t := time.NewTimer(d)
	defer t.Stop()
	var poll <-chan time.Time
	if every := q.fleet.OutcomePoll(); every > 0 { // another process may finish it
		tk := time.NewTicker(every)
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
	if d, reason := q.fleet.Paused(ctx); d > 0 {
		return fmt.Errorf("work paused: %s", reason)
	}
	pctx, cancel := context.WithTimeout(ctx, readyPingTimeout) // an unreachable database must not hang /readyz
	defer cancel()
	if err := q.db.Ping(pctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	return nil
}

// pause stops all rounds until d from now, e.g. after rejected credentials:
// every process's that shares the database.
func (q *Queue) pause(d time.Duration, reason string) {
	q.fleet.Pause(d, reason)
	q.metrics.Paused.WithLabelValues(reason).Set(1)
}

// resume clears a pause after a round succeeded.
func (q *Queue) resume() {
	if reason := q.fleet.Resume(); reason != "" {
		q.metrics.Paused.WithLabelValues(reason).Set(0)
	}
}

func (q *Queue) pausedFor() time.Duration {
	d, _ := q.fleet.Paused(context.Background())
	return d
}

// Exclusive takes, without waiting, the lock named name that the processes
// sharing the database hold one at a time (on PostgreSQL a session advisory
// lock, in the contact locks' class; on SQLite one process owns the
// database and ok is always true). unlock gives it back.
func (q *Queue) Exclusive(ctx context.Context, name string) (unlock func(), ok bool, err error) {
	return q.fleet.LockContact(ctx, name)
}
