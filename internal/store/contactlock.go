package store

import (
	"context"
	"database/sql/driver"
	"fmt"
	"time"
)

// contactLockClass is the first key of the advisory locks on contacts (the
// second is a hash of the contact id). PostgreSQL keeps two-key locks apart
// from one-key ones such as migrateLockID.
const contactLockClass int32 = 0x77706263 // "wpbc"

// LockContact takes the database-wide lock on contactID without waiting, so
// that no two processes sharing the database run rounds for one contact at
// once. ok is false when another holder has it. On PostgreSQL it is a
// session advisory lock on a connection kept for the lock, released by
// unlock or by the end of the session (a killed process releases its locks);
// two contacts whose ids hash alike share a lock, which only makes one wait.
// On SQLite one process owns the database, so there is nothing to take
// (ok is always true); the caller keeps its in-process lock either way.
func (db *DB) LockContact(ctx context.Context, contactID string) (unlock func(), ok bool, err error) {
	if db.Backend != PostgreSQL {
		return func() {}, true, nil
	}
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("lock contact %s: %w", contactID, err)
	}
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, contactLockClass, contactID).Scan(&ok); err != nil || !ok {
		conn.Close()
		if err != nil {
			return nil, false, fmt.Errorf("lock contact %s: %w", contactID, err)
		}
		return nil, false, nil
	}
	return func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(uctx, `SELECT pg_advisory_unlock($1, hashtext($2))`, contactLockClass, contactID); err != nil {
			// The lock may still be held: never hand this session back to the pool.
			conn.Raw(func(any) error { return driver.ErrBadConn }) //nolint:errcheck // discards the connection
		}
		conn.Close()
	}, true, nil
}
