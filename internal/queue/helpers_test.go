package queue

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/metrics"
	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

// fakeRunner records every round and detects two rounds for one contact
// running at the same time.
type fakeRunner struct {
	// run, when set, decides the round's result; n is the 1-based call number
	// for this contact.
	run func(ctx context.Context, req contactsync.Request, n int) (contactsync.Result, error)

	mu       sync.Mutex
	calls    []contactsync.Request
	perID    map[string]int
	running  map[string]*atomic.Int32
	overlaps atomic.Int32
	active   atomic.Int32
	maxAct   atomic.Int32
}

func (f *fakeRunner) Run(ctx context.Context, req contactsync.Request) (contactsync.Result, error) {
	f.mu.Lock()
	if f.perID == nil {
		f.perID, f.running = map[string]int{}, map[string]*atomic.Int32{}
	}
	f.calls = append(f.calls, req)
	f.perID[req.ContactID]++
	n := f.perID[req.ContactID]
	c := f.running[req.ContactID]
	if c == nil {
		c = new(atomic.Int32)
		f.running[req.ContactID] = c
	}
	f.mu.Unlock()

	if c.Add(1) > 1 {
		f.overlaps.Add(1)
	}
	defer c.Add(-1)
	a := f.active.Add(1)
	for {
		m := f.maxAct.Load()
		if a <= m || f.maxAct.CompareAndSwap(m, a) {
			break
		}
	}
	defer f.active.Add(-1)

	if f.run != nil {
		return f.run(ctx, req, n)
	}
	return contactsync.Result{Status: contactsync.StatusDone, Message: "synced " + req.ContactID, UserID: 7}, nil
}

// Calls returns a copy of the requests seen so far.
func (f *fakeRunner) Calls() []contactsync.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]contactsync.Request(nil), f.calls...)
}

func (f *fakeRunner) CallsFor(contact string) []contactsync.Request {
	var out []contactsync.Request
	for _, r := range f.Calls() {
		if r.ContactID == contact {
			out = append(out, r)
		}
	}
	return out
}

func fastOptions() Options {
	return Options{
		PollInterval: 10 * time.Millisecond,
		RetryBase:    10 * time.Millisecond,
		RetryCap:     50 * time.Millisecond,
		AuthPause:    300 * time.Millisecond,
		Workers:      4,
	}
}

// env is one queue on one database file.
type env struct {
	t      *testing.T
	path   string
	st     *store.DB
	db     *sql.DB // st.SQL, for the tests' own queries
	closer func() error
	q      *Queue
	runner *fakeRunner
	logs   *logtest.Hook
	m      *metrics.Metrics
}

// openEnv opens (or reopens) the database at path (a SQLite file, or a
// postgres URL) and builds a queue on it,
// not started. Everything is stopped and closed at the end of the test.
func openEnv(t *testing.T, path string, r *fakeRunner, classify Classifier, opts Options) *env {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "wpbridge.db")
	}
	if r == nil {
		r = &fakeRunner{}
	}
	ctx := context.Background()
	dsn := "sqlite:" + path
	if store.IsPostgresURL(path) { // a postgres URL (pgtest.SchemaURL)
		dsn = path
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	m := metrics.New()
	logger, hook := logtest.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	q, err := New(ctx, st, r, classify, opts, logger, m)
	if err != nil {
		st.Close()
		t.Fatalf("New: %v", err)
	}
	e := &env{t: t, path: path, st: st, db: st.SQL, closer: st.Close, q: q, runner: r, logs: hook, m: m}
	t.Cleanup(e.close)
	return e
}

// startEnv is openEnv followed by Start.
func startEnv(t *testing.T, r *fakeRunner, classify Classifier, opts Options) *env {
	t.Helper()
	e := openEnv(t, "", r, classify, opts)
	e.start()
	return e
}

func (e *env) start() {
	e.t.Helper()
	if err := e.q.Start(context.Background()); err != nil {
		e.t.Fatalf("Start: %v", err)
	}
}

// close stops the queue and closes the database; safe to call twice.
func (e *env) close() {
	if e.closer == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.q.Stop(ctx); err != nil {
		e.t.Errorf("Stop: %v", err)
	}
	if err := e.closer(); err != nil {
		e.t.Errorf("close database: %v", err)
	}
	e.closer = nil
}

func (e *env) submit(w webhook.Webhook) webhook.Outcome {
	e.t.Helper()
	o, err := e.q.Submit(context.Background(), w)
	if err != nil {
		e.t.Fatalf("Submit: %v", err)
	}
	return o
}

func (e *env) outcome(id int64) webhook.Outcome {
	e.t.Helper()
	o, err := e.q.Outcome(context.Background(), id)
	if err != nil {
		e.t.Fatalf("Outcome(%d): %v", id, err)
	}
	return o
}

// waitFinal polls until every webhook is final and returns their outcomes.
func (e *env) waitFinal(ids ...int64) []webhook.Outcome {
	e.t.Helper()
	var outs []webhook.Outcome
	wait.For(e.t, 20*time.Second, "the expected state", func() (bool, string) {
		outs = outs[:0]
		for _, id := range ids {
			o, err := e.q.Outcome(context.Background(), id)
			if err != nil {
				return false, err.Error()
			}
			if !o.Final() {
				return false, fmt.Sprintf("webhook %d is %s", id, o.State)
			}
			outs = append(outs, o)
		}
		return true, ""
	})
	return outs
}

// jobOf returns the state and attempt of the River job of webhook id.
func (e *env) jobOf(id int64) (state string, attempt int) {
	e.t.Helper()
	err := e.db.QueryRow(`SELECT state, attempt FROM river_job WHERE kind = 'contact_sync'
		AND json_extract(args, '$.webhook_id') = ?`, id).Scan(&state, &attempt)
	if err != nil {
		e.t.Fatalf("read job of webhook %d: %v", id, err)
	}
	return state, attempt
}

// waitJobsFinalized polls until no River job is left to run.
func (e *env) waitJobsFinalized() {
	e.t.Helper()
	wait.For(e.t, 20*time.Second, "the expected state", func() (bool, string) {
		var n int
		if err := e.db.QueryRow(`SELECT count(*) FROM river_job
			WHERE state NOT IN ('completed', 'cancelled', 'discarded')`).Scan(&n); err != nil {
			return false, err.Error()
		}
		return n == 0, fmt.Sprintf("%d jobs not finalized", n)
	})
}

// logged returns the log entries with message msg.
func (e *env) logged(msg string) []*logrus.Entry {
	var out []*logrus.Entry
	for _, en := range e.logs.AllEntries() {
		if en.Message == msg {
			out = append(out, en)
		}
	}
	return out
}

func hook(id string, a contactsync.Action) webhook.Webhook {
	return webhook.Webhook{Request: contactsync.Request{ContactID: id, Action: a}}
}

// scrape returns the metrics in the Prometheus text format.
func (e *env) scrape() string {
	e.t.Helper()
	rec := httptest.NewRecorder()
	e.m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

// clock is a fake clock the tests move by hand (Options.Now).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
