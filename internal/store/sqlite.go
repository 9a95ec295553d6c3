package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

const sqliteSchema = `
CREATE TABLE IF NOT EXISTS wpbridge_webhook (
	id                INTEGER PRIMARY KEY AUTOINCREMENT,
	received_at       TEXT    NOT NULL,
	contact_id        TEXT    NOT NULL,
	action            TEXT    NOT NULL,
	role              TEXT    NOT NULL DEFAULT '',
	send_notification INTEGER NOT NULL DEFAULT 0,
	tags              TEXT,
	email_hint        TEXT    NOT NULL DEFAULT '',
	event_type        TEXT    NOT NULL DEFAULT '',
	initiated_from    TEXT    NOT NULL DEFAULT '',
	state             TEXT    NOT NULL DEFAULT 'pending',
	round             INTEGER,
	message           TEXT    NOT NULL DEFAULT '',
	user_id           INTEGER NOT NULL DEFAULT 0,
	finished_at       TEXT
);
CREATE INDEX IF NOT EXISTS wpbridge_webhook_contact_state ON wpbridge_webhook (contact_id, state);
CREATE INDEX IF NOT EXISTS wpbridge_webhook_state_finished ON wpbridge_webhook (state, finished_at);
CREATE TABLE IF NOT EXISTS wpbridge_pending_password (
	contact_id TEXT PRIMARY KEY,
	password   TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS wpbridge_ac_write (
	contact_id TEXT PRIMARY KEY,
	written_at TEXT NOT NULL
);
`

// busyTimeoutMS is how long a statement waits for another process's lock.
const busyTimeoutMS = 10000

// OpenSQLite opens the embedded database at path and creates wpbridge's
// tables. Its settings make a commit durable (WAL, synchronous=FULL) and
// overwrite deleted rows (secure_delete), and it uses one connection, as
// River's SQLite driver wants. Its files are readable by their owner only
// (0600); existing ones that were not are tightened and listed in
// DB.Tightened. It also takes an exclusive lock on path+".lock" so that two
// processes never share the file; Close releases it.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
	}
	tightened, err := securePath(path)
	if err != nil {
		return nil, err
	}
	lock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, fmt.Errorf("database %s is in use by another wpbridge process (lock %s.lock): %w", path, path, err)
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(" + fmt.Sprint(busyTimeoutMS) + ")" +
		"&_pragma=foreign_keys(1)&_pragma=secure_delete(1)&_txlock=immediate"
	sqlDB, err := sql.Open("sqlite", dsn)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB.SetMaxOpenConns(1)
	sqlDB.SetConnMaxIdleTime(0)
	closeAll := func() error { return errors.Join(sqlDB.Close(), lock.Close()) }
	if err := sqlDB.PingContext(ctx); err != nil {
		closeAll()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if _, err := sqlDB.ExecContext(ctx, sqliteSchema); err != nil {
		closeAll()
		return nil, fmt.Errorf("create wpbridge tables: %w", err)
	}
	db := newDB(sqlDB, SQLite, func(q string) string { return q }, closeAll)
	db.Tightened = tightened
	return db, nil
}

// lockFile opens path and takes an exclusive lock on it without waiting.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, privateMode)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(privateMode); err != nil { // whatever the umask took away
		f.Close()
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
