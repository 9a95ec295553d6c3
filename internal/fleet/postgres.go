package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/internal/maintenance"
	"github.com/wpbridge/wpbridge/internal/store"
)

// Liveness: each working replica holds a session advisory lock on its River
// client id; the jobs of a client whose lock can be taken go back to the
// queue. Why a lock and not a time limit: docs/liveness.md.

// clientIDPrefix starts the River client id of every wpbridge replica; only
// jobs attempted by such clients are rescued (a client of another program
// holds no liveness lock).
const clientIDPrefix = "wpbridge_"

// RescueInterval is how often a replica looks for jobs of gone replicas.
const RescueInterval = 5 * time.Second

// keepalives makes PostgreSQL notice within about 30 s a replica whose
// machine went away without closing its sockets.
const keepalives = `SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3`

// poolSpare is how many connections River, the webhook handlers and the
// liveness lock need beside the rounds.
const poolSpare = 5

// outcomePoll is how often a waiter reads its webhook's outcome.
const outcomePoll = 100 * time.Millisecond

// sharedPauseTimeout bounds each read or write of the pause in the database.
const sharedPauseTimeout = 5 * time.Second

// newClientID is a River client id unique to this process: the prefix, the
// host name (as River's default id has it) and random hex.
func newClientID() string {
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, host)
	if len(host) > 50 {
		host = host[:50]
	}
	b := make([]byte, 8)
	rand.Read(b)
	return clientIDPrefix + host + "_" + hex.EncodeToString(b)
}

// postgres is the fleet of the replicas sharing a PostgreSQL database.
type postgres struct {
	db      *store.DB
	id      string
	log     logrus.FieldLogger
	pause   pause // this process's, for when the database cannot be read
	rescuer *maintenance.Periodic

	mu   sync.Mutex
	live *sessionLock // the liveness lock; nil while lost
}

func newPostgres(db *store.DB, log logrus.FieldLogger) *postgres {
	p := &postgres{db: db, id: newClientID(), log: log}
	p.rescuer = &maintenance.Periodic{Interval: RescueInterval, Run: func(ctx context.Context) {
		p.check(ctx)
		p.rescueOnce(ctx)
	}}
	return p
}

func (p *postgres) ID() string                   { return p.id }
func (p *postgres) OutcomePoll() time.Duration   { return outcomePoll }
func (p *postgres) Rescuer() maintenance.Service { return p.rescuer }

// CheckPool: each round keeps a connection for its contact's lock and needs
// another for its queries.
func (p *postgres) CheckPool(workers int) error {
	size := p.db.SQL.Stats().MaxOpenConnections
	if size == 0 || size >= workers+poolSpare {
		return nil
	}
	return fmt.Errorf("fleet: a pool of %d database connections is too small for %d workers: "+
		"set pool_max_conns=%d or more in DATABASE_URL, or fewer WORKERS", size, workers, workers+poolSpare)
}

func (p *postgres) LockContact(ctx context.Context, contactID string) (func(), bool, error) {
	return lockContact(ctx, p.db.SQL, contactID)
}

func (p *postgres) Pause(d time.Duration, reason string) {
	p.pause.set(d, reason)
	ctx, cancel := context.WithTimeout(context.Background(), sharedPauseTimeout)
	defer cancel()
	if err := p.db.PauseWork(ctx, d, reason); err != nil {
		p.log.WithError(err).Warn("could not pause the other replicas")
	}
}

func (p *postgres) Resume() string {
	reason := p.pause.clear()
	ctx, cancel := context.WithTimeout(context.Background(), sharedPauseTimeout)
	defer cancel()
	if err := p.db.ResumeWork(ctx); err != nil {
		p.log.WithError(err).Warn("could not resume the other replicas")
	}
	return reason
}

// Paused reads the pause kept in the database, set by any replica; this
// process's own while the database cannot be read.
func (p *postgres) Paused(ctx context.Context) (time.Duration, string) {
	ctx, cancel := context.WithTimeout(ctx, sharedPauseTimeout)
	defer cancel()
	if d, reason, err := p.db.WorkPaused(ctx); err == nil {
		return d, reason
	}
	return p.pause.state()
}

// Join takes the liveness lock before River's first fetch names this client,
// then hands back the jobs of gone replicas.
func (p *postgres) Join(ctx context.Context) error {
	if err := p.hold(ctx); err != nil {
		return err
	}
	p.rescueOnce(ctx)
	return nil
}

// hold takes the liveness lock.
func (p *postgres) hold(ctx context.Context) error {
	l, ok, err := tryLock(ctx, p.db.SQL, livenessClass, p.id, keepalives)
	if err == nil && !ok {
		err = errHeld
	}
	if err != nil {
		return fmt.Errorf("fleet: take the replica lock: %w", err)
	}
	p.mu.Lock()
	p.live = l
	p.mu.Unlock()
	return nil
}

// take forgets the liveness lock and returns it (nil if none).
func (p *postgres) take() *sessionLock {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.live
	p.live = nil
	return l
}

// check makes sure the liveness lock is still held, taking it again when
// its connection was lost.
func (p *postgres) check(ctx context.Context) {
	p.mu.Lock()
	l := p.live
	p.mu.Unlock()
	if l != nil {
		err := l.alive(ctx)
		if err == nil {
			return
		}
		p.log.WithError(err).Warn("replica lock lost; taking it again")
		if l := p.take(); l != nil {
			l.discard()
		}
	}
	if err := p.hold(ctx); err != nil && ctx.Err() == nil {
		p.log.WithError(err).Warn("replica lock not taken")
	}
}

// Leave gives the liveness lock back.
func (p *postgres) Leave() {
	if l := p.take(); l != nil {
		l.release(context.Background())
	}
}

// rescueGoneSQL makes the running jobs of gone wpbridge clients available:
// a client is gone when this transaction can take its liveness lock (held
// until commit, so two replicas rescuing at once take turns). The planner
// may try the lock of other clients too; a held lock is simply not taken.
// The job records the rescue as River's rescuer does.
const rescueGoneSQL = `
WITH clients AS (
	SELECT DISTINCT attempted_by[cardinality(attempted_by)] AS client
	FROM river_job WHERE state = 'running' AND cardinality(attempted_by) > 0
), gone AS (
	SELECT client FROM clients
	WHERE client LIKE 'wpbridge\_%' AND client <> $1 AND pg_try_advisory_xact_lock($2, hashtext(client))
)
UPDATE river_job SET state = 'available', scheduled_at = now(),
	errors = array_append(errors, jsonb_build_object('at', now(), 'attempt', attempt,
		'error', 'replica gone: job rescued by wpbridge', 'trace', '')),
	metadata = metadata || jsonb_build_object('river:rescue_count',
		coalesce((metadata->>'river:rescue_count')::int, 0) + 1)
WHERE state = 'running' AND attempted_by[cardinality(attempted_by)] IN (SELECT client FROM gone)`

// rescueGone hands the running jobs of gone replicas back to the queue.
func (p *postgres) rescueGone(ctx context.Context) (int64, error) {
	tx, err := p.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("fleet: rescue jobs of gone replicas: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after commit this is a no-op
	res, err := tx.ExecContext(ctx, rescueGoneSQL, p.id, livenessClass)
	if err != nil {
		return 0, fmt.Errorf("fleet: rescue jobs of gone replicas: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("fleet: rescue jobs of gone replicas: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// rescueOnce runs rescueGone and logs what it did.
func (p *postgres) rescueOnce(ctx context.Context) {
	n, err := p.rescueGone(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		p.log.WithError(err).Warn("rescue jobs of gone replicas")
	case n > 0:
		p.log.WithField("jobs", n).Warn("resumed jobs of a replica that is gone")
	}
}
