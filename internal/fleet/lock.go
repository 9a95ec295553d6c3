package fleet

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"
)

// Lock classes: the first key of a two-key PostgreSQL advisory lock (the
// second is hashtext of the name). PostgreSQL keeps two-key locks apart from
// one-key ones such as store's migration and AC budget locks. Two names that
// hash alike share a lock, which only makes one of them wait.
const (
	contactClass  int32 = 0x77706263 // "wpbc": a contact's rounds
	livenessClass int32 = 0x7770626c // "wpbl": a working replica, on its River client id
)

// unlockTimeout bounds the unlock of a session lock.
const unlockTimeout = 10 * time.Second

// sessionLock is a PostgreSQL session advisory lock, held on a connection
// kept for it: the end of the session (a killed process's sockets are
// closed by the kernel) releases it.
type sessionLock struct {
	conn  *sql.Conn
	class int32
	name  string
}

// tryLock takes the lock (class, name) without waiting, on a connection of
// its own set up first by setup (SQL, or ""). ok is false when another
// session holds it.
func tryLock(ctx context.Context, db *sql.DB, class int32, name, setup string) (l *sessionLock, ok bool, err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, false, err
	}
	if setup != "" {
		_, err = conn.ExecContext(ctx, setup)
	}
	if err == nil {
		err = conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, class, name).Scan(&ok)
	}
	if err != nil || !ok {
		conn.Close()
		return nil, false, err
	}
	return &sessionLock{conn: conn, class: class, name: name}, true, nil
}

// alive checks that the lock's session still answers.
func (l *sessionLock) alive(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return l.conn.PingContext(ctx)
}

// release gives the lock back; when that fails the lock may still be held,
// so the session is discarded rather than handed back to the pool.
func (l *sessionLock) release(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
	defer cancel()
	if _, err := l.conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1, hashtext($2))`, l.class, l.name); err != nil {
		l.discard()
		return
	}
	l.conn.Close()
}

// discard closes the lock's session without handing it back to the pool.
func (l *sessionLock) discard() {
	l.conn.Raw(func(any) error { return driver.ErrBadConn }) //nolint:errcheck // discards the connection
	l.conn.Close()
}

// errHeld is what taking a lock that must be free fails with.
var errHeld = errors.New("held by another session")

// lockContact is LockContact on PostgreSQL.
func lockContact(ctx context.Context, db *sql.DB, contactID string) (func(), bool, error) {
	l, ok, err := tryLock(ctx, db, contactClass, contactID, "")
	if err != nil {
		return nil, false, fmt.Errorf("lock contact %s: %w", contactID, err)
	}
	if !ok {
		return nil, false, nil
	}
	return func() { l.release(ctx) }, true, nil
}
