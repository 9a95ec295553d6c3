package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Backend names the database a DB runs on.
type Backend string

// Backends.
const (
	SQLite Backend = "sqlite"
)

// DB is an open database holding wpbridge's tables.
type DB struct {
	SQL     *sql.DB // the handle; River works on it too
	Backend Backend

	Webhooks  *Webhooks
	Passwords *Passwords
	Echoes    *Echoes

	rebind   func(string) string
	close    func() error
	owner    bool          // may work jobs: SQLite with the work lock (OpenSQLite), or PostgreSQL
	listener *pgxpool.Pool // PostgreSQL: River's connection for LISTEN
	wake     chan struct{} // SQLite: wakes River's workers (JobsInserted)
	// Tightened lists the database files that were readable or writable by
	// others when the database was opened, and are now 0600: warn about them.
	Tightened []string
}

// newDB wraps an open handle; ckpt checkpoints SQLite's log (nil on
// PostgreSQL).
func newDB(sqlDB *sql.DB, b Backend, rebind func(string) string, closeFn func() error, ckpt *checkpointer) *DB {
	c := conn{db: sqlDB, rebind: rebind, ckpt: ckpt}
	return &DB{
		SQL: sqlDB, Backend: b, rebind: rebind, close: closeFn,
		Webhooks: &Webhooks{c: c}, Passwords: &Passwords{c: c},
		Echoes: &Echoes{c: c, Window: DefaultEchoWindow},
	}
}

// OwnsWork reports whether this process may work River's jobs: on SQLite
// only the holder of the work lock (which alone rescues orphaned jobs); on
// PostgreSQL every replica.
func (db *DB) OwnsWork() bool { return db.owner }

// Rebind writes a query's ? placeholders in the backend's style ($1, $2, ...
// on PostgreSQL).
func (db *DB) Rebind(query string) string { return db.rebind(query) }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.SQL.PingContext(ctx) }

// Close closes the database (and releases its lock); call it last.
func (db *DB) Close() error { return db.close() }

// conn is what every table's queries need: the handle and the backend's
// placeholder style (queries are written with ?).
type conn struct {
	db     *sql.DB
	rebind func(query string) string
	ckpt   *checkpointer // SQLite: checkpoints, and erases deleted rows from the files (eraseFreed); nil on PostgreSQL
}

// execer runs a statement on a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (c conn) exec(ctx context.Context, e execer, query string, args ...any) (sql.Result, error) {
	return e.ExecContext(ctx, c.rebind(query), args...)
}

func (c conn) queryRow(ctx context.Context, e execer, query string, args ...any) *sql.Row {
	return e.QueryRowContext(ctx, c.rebind(query), args...)
}

// timeText is how times are stored: RFC 3339 text in UTC with a fixed nine
// fraction digits, which sorts (and so compares) in time order.
func timeText(t time.Time) string { return t.UTC().Format(timeLayout) }

const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

func int64sAny(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}
