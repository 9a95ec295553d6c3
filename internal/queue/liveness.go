package queue

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/internal/store"
)

// Resuming a killed replica's work on PostgreSQL.
//
// River (OSS, v0.51) knows of a job only that it is "running", since when
// (attempted_at) and for which client (the last of attempted_by). Its rescuer,
// run by the elected leader every 30 s (not configurable), retries a running
// job once it has run longer than RescueStuckJobsAfter, which must exceed
// JobTimeout. Client heartbeats exist in River's schema (river_client,
// ProducerKeepAlive) but only River Pro writes them: the standard pilot's
// ProducerKeepAlive does nothing.
//
// Getting within 60 s of a kill by time alone would need RescueStuckJobsAfter
// of about 20 s (30 s rescuer interval, up to 20 s more to elect a new leader
// when the leader was the one killed), so a JobTimeout below that. But a
// round's length is not bounded by its own work: it waits on the AC limiter,
// and with the budget shared by the fleet that wait grows with replicas x
// WORKERS / AC_RATE_LIMIT (3 replicas x 10 workers x 2 requests at 5/s is 12 s
// on average, more in the tail). A JobTimeout short enough for a fast rescue
// would cut live rounds under load and spend the AC budget on their retries.
//
// So liveness comes from PostgreSQL itself, the same way the contact locks
// (store.DB.LockContact) are released: each working replica holds a session
// advisory lock on its River client id for as long as it runs, on a
// connection kept for it. PostgreSQL drops the lock the moment the
// replica's session ends (a killed process's sockets are closed by the
// kernel). Every replica looks, every rescueInterval, for running jobs whose
// client's lock it can take: their client is gone, and the jobs go back to
// available at once. A live replica's lock cannot be taken, so its jobs are
// never touched, however long its rounds wait. River's own time-based rescue
// (JobTimeout plus 3 minutes) stays as the backstop for what a lock cannot
// show (a process that hangs with its sessions open).
//
// If a live replica's liveness connection is lost (the database restarted, a
// network cut), its jobs may be handed out while it still works them: its
// contact locks, held on other connections and lost in the same events,
// were what kept rounds apart, and a round that finds its contact's
// webhooks already finished does nothing. The replica takes its lock again
// as soon as it can.

// livenessClass is the first key of the advisory lock a working replica
// holds on its River client id (the second is hashtext of the id). Two ids
// that hash alike only delay a rescue: the lock looks held.
const livenessClass int32 = 0x7770626c // "wpbl"

// clientIDPrefix starts the River client id of every wpbridge replica; only
// jobs attempted by such clients are rescued by liveness (a client of
// another program holds no liveness lock).
const clientIDPrefix = "wpbridge_"

// rescueInterval is how often a replica looks for jobs of gone replicas.
const rescueInterval = 5 * time.Second

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

// liveness is the advisory lock a replica holds while it works, and the
// rescue of the jobs of replicas that are gone.
type liveness struct {
	db  *store.DB
	id  string // River client id
	log logrus.FieldLogger

	mu   sync.Mutex
	conn *sql.Conn // holds the lock; nil while lost
}

// hold takes the lock on a connection of its own. The server-side
// keepalives make PostgreSQL notice within about 30 s a replica whose
// machine went away without closing its sockets.
func (l *liveness) hold(ctx context.Context) error {
	conn, err := l.db.SQL.Conn(ctx)
	if err != nil {
		return fmt.Errorf("queue: take the replica lock: %w", err)
	}
	var ok bool
	if _, err = conn.ExecContext(ctx, `SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3`); err == nil {
		err = conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, livenessClass, l.id).Scan(&ok)
	}
	if err == nil && !ok {
		err = errors.New("held by another session")
	}
	if err != nil {
		conn.Close()
		return fmt.Errorf("queue: take the replica lock: %w", err)
	}
	l.mu.Lock()
	l.conn = conn
	l.mu.Unlock()
	return nil
}

// check makes sure the lock is still held, taking it again when its
// connection was lost.
func (l *liveness) check(ctx context.Context) {
	l.mu.Lock()
	conn := l.conn
	l.mu.Unlock()
	if conn != nil {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := conn.PingContext(cctx)
		cancel()
		if err == nil {
			return
		}
		l.log.WithError(err).Warn("replica lock lost; taking it again")
		l.drop()
	}
	if err := l.hold(ctx); err != nil && ctx.Err() == nil {
		l.log.WithError(err).Warn("replica lock not taken")
	}
}

// drop forgets the lock's connection without handing it back to the pool.
func (l *liveness) drop() {
	l.mu.Lock()
	conn := l.conn
	l.conn = nil
	l.mu.Unlock()
	if conn != nil {
		conn.Raw(func(any) error { return driver.ErrBadConn }) //nolint:errcheck // discards the connection
		conn.Close()
	}
}

// release gives the lock back, once no job of this replica runs any more.
func (l *liveness) release() {
	l.mu.Lock()
	conn := l.conn
	l.conn = nil
	l.mu.Unlock()
	if conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1, hashtext($2))`, livenessClass, l.id); err != nil {
		conn.Raw(func(any) error { return driver.ErrBadConn }) //nolint:errcheck // discards the connection
	}
	conn.Close()
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
func (l *liveness) rescueGone(ctx context.Context) (int64, error) {
	tx, err := l.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("queue: rescue jobs of gone replicas: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after commit this is a no-op
	res, err := tx.ExecContext(ctx, rescueGoneSQL, l.id, livenessClass)
	if err != nil {
		return 0, fmt.Errorf("queue: rescue jobs of gone replicas: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("queue: rescue jobs of gone replicas: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// loop keeps the lock and rescues gone replicas' jobs every rescueInterval
// until ctx ends.
func (l *liveness) loop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(rescueInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		l.check(ctx)
		l.rescueOnce(ctx)
	}
}

// rescueOnce runs rescueGone and logs what it did.
func (l *liveness) rescueOnce(ctx context.Context) {
	n, err := l.rescueGone(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		l.log.WithError(err).Warn("rescue jobs of gone replicas")
	case n > 0:
		l.log.WithField("jobs", n).Warn("resumed jobs of a replica that is gone")
	}
}
