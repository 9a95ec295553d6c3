// Package queue stores accepted webhooks durably and works them with River:
// a webhook is committed (its row and its River job in one transaction)
// before it is acknowledged, jobs for one contact never run at the same time,
// and all pending webhooks of a contact are coalesced into one round of work.
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
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/metrics"
)

// Runner does one round of work for a contact (contactsync.Syncer).
type Runner interface {
	Run(ctx context.Context, req contactsync.Request) (contactsync.Result, error)
}

// Class says how a failed round is handled.
type Class int

// Failure classes.
const (
	Temporary  Class = iota // retry with backoff, an attempt is used
	Permanent               // fail now, keep for inspection
	Throttled               // wait RetryAfter, no attempt used
	AuthFailed              // credentials rejected: pause all work, no attempt used
)

// Classifier maps an error from a round to its class and, for Throttled, how
// long to wait; for AuthFailed, which credentials were rejected.
type Classifier func(err error) (class Class, wait time.Duration, what string)

// Options tune the queue. Zero values take the defaults.
type Options struct {
	Workers        int           // concurrent rounds (default 10)
	MaxAttempts    int           // attempts before a temporary failure becomes final (default 25)
	RetryBase      time.Duration // first retry delay (default 1s)
	RetryCap       time.Duration // longest retry delay (default 10m)
	AuthPause      time.Duration // pause after rejected credentials (default 30s)
	EchoWindow     time.Duration // AC update webhooks from the API this soon after our own write are echoes (default 2m)
	PollInterval   time.Duration // how often idle workers look for jobs (default 50ms)
	JobTimeout     time.Duration // longest round (default 2m)
	RetentionAfter time.Duration // finished webhooks are deleted after this (default 7 days)
}

func (o *Options) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.Workers <= 0 {
		o.Workers = 10
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 25
	}
	set(&o.RetryBase, time.Second)
	set(&o.RetryCap, 10*time.Minute)
	set(&o.AuthPause, 30*time.Second)
	set(&o.EchoWindow, 2*time.Minute)
	set(&o.PollInterval, 50*time.Millisecond)
	set(&o.JobTimeout, 2*time.Minute)
	set(&o.RetentionAfter, 7*24*time.Hour)
}

// Queue is the durable webhook queue and its workers.
type Queue struct {
	db       *sql.DB
	river    *river.Client[*sql.Tx]
	runner   Runner
	classify Classifier
	opts     Options
	log      logrus.FieldLogger
	metrics  *metrics.Metrics

	locks   contactLocks
	waiters waiters
	commits groupCommit

	mu          sync.Mutex
	pausedUntil time.Time
	pauseReason string
	backoff     map[string]time.Time // contact -> no new round before
	started     bool
	stopCleaner context.CancelFunc
	cleanerDone chan struct{}
}

// New migrates the database (River's tables and wpbridge's) and builds the
// queue. It does not start working; call Start.
func New(ctx context.Context, db *sql.DB, runner Runner, classify Classifier, opts Options, log logrus.FieldLogger, m *metrics.Metrics) (*Queue, error) {
	opts.defaults()
	driver := riversqlite.New(db)
	migrator, err := rivermigrate.New(driver, nil)
	if err != nil {
		return nil, fmt.Errorf("queue: create migrator: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("queue: migrate river tables: %w", err)
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return nil, fmt.Errorf("queue: migrate wpbridge tables: %w", err)
	}
	q := &Queue{
		db: db, runner: runner, classify: classify, opts: opts, log: log, metrics: m,
		locks: contactLocks{held: map[string]bool{}}, waiters: waiters{m: map[int64][]chan Outcome{}},
		backoff: map[string]time.Time{},
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &syncWorker{q: q}); err != nil {
		return nil, fmt.Errorf("queue: add worker: %w", err)
	}
	q.river, err = river.NewClient(driver, &river.Config{
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: opts.Workers}},
		Workers:              workers,
		FetchCooldown:        10 * time.Millisecond,
		FetchPollInterval:    opts.PollInterval,
		JobTimeout:           opts.JobTimeout,
		RescueStuckJobsAfter: opts.JobTimeout + 3*time.Minute,
		MaxAttempts:          opts.MaxAttempts,
		RetryPolicy:          &backoffPolicy{base: opts.RetryBase, cap: opts.RetryCap},
		Logger:               slog.New(riverLog{log: log}),
	})
	if err != nil {
		return nil, fmt.Errorf("queue: create river client: %w", err)
	}
	if m != nil {
		m.SetDepthFunc(func() float64 {
			var n int
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM wpbridge_webhook WHERE state IN ('pending','claimed')`).Scan(&n); err != nil {
				return -1
			}
			return float64(n)
		})
	}
	return q, nil
}

// Start rescues work left running by a killed process and starts the workers.
// The database lock taken by OpenSQLite guarantees no other process works
// these jobs, so jobs still marked running are orphans.
func (q *Queue) Start(ctx context.Context) error {
	res, err := q.db.ExecContext(ctx, `UPDATE river_job SET state = 'available', scheduled_at = datetime('now', 'subsec') WHERE state = 'running'`)
	if err != nil {
		return fmt.Errorf("queue: rescue orphaned jobs: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		q.log.WithField("jobs", n).Warn("resumed jobs interrupted by an earlier stop")
	}
	// River stops when its start context ends; stopping is Stop's job.
	if err := q.river.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("queue: start workers: %w", err)
	}
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	q.mu.Lock()
	q.started, q.stopCleaner, q.cleanerDone = true, cancel, make(chan struct{})
	q.mu.Unlock()
	go q.cleanLoop(cctx)
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
		return fmt.Errorf("queue: stop workers: %w", err)
	}
	return nil
}

// takeEcho reports whether w is the echo of our own write to the contact, and
// if so consumes the record of that write so that only one echo is dropped.
func (q *Queue) takeEcho(ctx context.Context, tx *sql.Tx, w Webhook) (bool, error) {
	if w.InitiatedFrom != "api" || w.Request.Action != contactsync.ActionUpdate {
		return false, nil
	}
	since := timeText(time.Now().Add(-q.opts.EchoWindow))
	res, err := tx.ExecContext(ctx, `DELETE FROM wpbridge_ac_write WHERE contact_id = ? AND written_at >= ?`, w.Request.ContactID, since)
	if err != nil {
		return false, fmt.Errorf("queue: check echo: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// RecordACWrite notes that wpbridge just wrote to a contact in AC, so that
// the update webhook AC may send back for it is recognised as an echo.
func (q *Queue) RecordACWrite(ctx context.Context, contactID string) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO wpbridge_ac_write (contact_id, written_at) VALUES (?, ?)
		ON CONFLICT (contact_id) DO UPDATE SET written_at = excluded.written_at`, contactID, timeText(time.Now()))
	if err != nil {
		return fmt.Errorf("queue: record AC write: %w", err)
	}
	return nil
}

// Wait waits up to d for webhook id to finish and returns where it stands.
func (q *Queue) Wait(ctx context.Context, id int64, d time.Duration) (Outcome, error) {
	ch := q.waiters.add(id)
	defer q.waiters.remove(id, ch)
	o, err := outcome(ctx, q.db, id)
	if err != nil || o.Final() || d <= 0 {
		return o, err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case o := <-ch:
		return o, nil
	case <-t.C:
		return o, nil
	case <-ctx.Done():
		return o, nil
	}
}

// Outcome returns where webhook id stands.
func (q *Queue) Outcome(ctx context.Context, id int64) (Outcome, error) {
	return outcome(ctx, q.db, id)
}

// Ready says why work cannot proceed now, or nil.
func (q *Queue) Ready(ctx context.Context) error {
	q.mu.Lock()
	started, until, reason := q.started, q.pausedUntil, q.pauseReason
	q.mu.Unlock()
	if !started {
		return errors.New("workers not running")
	}
	if time.Now().Before(until) {
		return fmt.Errorf("work paused: %s", reason)
	}
	if err := q.db.PingContext(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	return nil
}

// pause stops all rounds until d from now, e.g. after rejected credentials.
func (q *Queue) pause(d time.Duration, reason string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if until := time.Now().Add(d); until.After(q.pausedUntil) {
		q.pausedUntil = until
	}
	q.pauseReason = reason
	if q.metrics != nil {
		q.metrics.Paused.WithLabelValues(reason).Set(1)
	}
}

// resume clears a pause after a round succeeded.
func (q *Queue) resume() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pauseReason != "" && q.metrics != nil {
		q.metrics.Paused.WithLabelValues(q.pauseReason).Set(0)
	}
	q.pausedUntil, q.pauseReason = time.Time{}, ""
}

func (q *Queue) pausedFor() time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	return time.Until(q.pausedUntil)
}

// cleanLoop deletes, hourly, finished webhooks and never-returned passwords
// past their retention, and old records of our AC writes.
func (q *Queue) cleanLoop(ctx context.Context) {
	defer close(q.cleanerDone)
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		before := timeText(time.Now().Add(-q.opts.RetentionAfter))
		if _, err := q.db.ExecContext(ctx, `DELETE FROM wpbridge_webhook WHERE state IN ('done','ignored','failed') AND finished_at < ?`, before); err != nil && ctx.Err() == nil {
			q.log.WithError(err).Warn("delete old webhooks")
		}
		if _, err := q.db.ExecContext(ctx, `DELETE FROM wpbridge_pending_password WHERE created_at < ?`, before); err != nil && ctx.Err() == nil {
			q.log.WithError(err).Warn("delete stale pending passwords")
		}
		if _, err := q.db.ExecContext(ctx, `DELETE FROM wpbridge_ac_write WHERE written_at < ?`, timeText(time.Now().Add(-q.opts.EchoWindow))); err != nil && ctx.Err() == nil {
			q.log.WithError(err).Warn("delete old AC write records")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// contactLocks makes sure one contact has at most one round running.
type contactLocks struct {
	mu   sync.Mutex
	held map[string]bool
}

func (l *contactLocks) tryLock(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[id] {
		return false
	}
	l.held[id] = true
	return true
}

func (l *contactLocks) unlock(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.held, id)
}

// waiters lets requests wait for their webhook's outcome.
type waiters struct {
	mu sync.Mutex
	m  map[int64][]chan Outcome
}

func (w *waiters) add(id int64) chan Outcome {
	ch := make(chan Outcome, 1)
	w.mu.Lock()
	w.m[id] = append(w.m[id], ch)
	w.mu.Unlock()
	return ch
}

func (w *waiters) remove(id int64, ch chan Outcome) {
	w.mu.Lock()
	defer w.mu.Unlock()
	list := w.m[id]
	for i, c := range list {
		if c == ch {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(w.m, id)
	} else {
		w.m[id] = list
	}
}

func (w *waiters) notify(outs []Outcome) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, o := range outs {
		for _, ch := range w.m[o.WebhookID] {
			select {
			case ch <- o:
			default:
			}
		}
	}
}
