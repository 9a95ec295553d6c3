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

// OpenSQLite opens the embedded database at path, creating or upgrading
// wpbridge's tables. Its settings make a commit durable (WAL,
// synchronous=FULL) and overwrite deleted rows (secure_delete), and it uses
// one connection, as River's SQLite driver wants; the log is checkpointed
// in the background (checkpointer), never inside a commit. Its files are readable by
// their owner only (0600); existing ones that were not are tightened and
// listed in DB.Tightened. It also takes an exclusive lock on path+".lock": the process that
// holds it owns the work (River's workers, rescuing orphaned jobs), so two
// servers never share the file. Close releases it.
func OpenSQLite(ctx context.Context, path string) (*DB, error) { return openSQLite(ctx, path, true) }

// busyTimeoutMS is how long a statement waits for another process's lock.
const busyTimeoutMS = 10000

// OpenSQLiteShared opens the database as OpenSQLite does but without the
// lock, for commands that read and write the webhook history while a server
// owns the work (WAL and busy_timeout make the concurrent access safe). It
// must never work jobs.
func OpenSQLiteShared(ctx context.Context, path string) (*DB, error) {
	return openSQLite(ctx, path, false)
}

func openSQLite(ctx context.Context, path string, owner bool) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
	}
	tightened, err := securePath(path)
	if err != nil {
		return nil, err
	}
	unlock := func() error { return nil }
	if owner {
		lock, err := lockFile(path + ".lock")
		if err != nil {
			return nil, fmt.Errorf("database %s is in use by another wpbridge process (lock %s.lock): %w", path, path, err)
		}
		unlock = lock.Close
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(" + fmt.Sprint(busyTimeoutMS) + ")" +
		"&_pragma=foreign_keys(1)&_pragma=secure_delete(1)&_pragma=wal_autocheckpoint(0)&_txlock=immediate"
	sqlDB, err := sql.Open("sqlite", dsn)
	if err != nil {
		unlock()
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB.SetMaxOpenConns(1)
	sqlDB.SetConnMaxIdleTime(0)
	// The checkpointer's own handle copies the log into the database
	// without holding the one connection everything else shares.
	sideDB, err := sql.Open("sqlite", dsn)
	if err != nil {
		sqlDB.Close()
		unlock()
		return nil, fmt.Errorf("open database: %w", err)
	}
	sideDB.SetMaxOpenConns(1)
	closeAll := func() error { return errors.Join(sqlDB.Close(), sideDB.Close(), unlock()) }
	if err := sqlDB.PingContext(ctx); err != nil {
		closeAll()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := migrateSQLite(ctx, sqlDB); err != nil {
		closeAll()
		return nil, err
	}
	ckpt := startCheckpointer(sqlDB, sideDB, checkpointInterval)
	closeSQL := closeAll
	closeAll = func() error { ckpt.close(); return closeSQL() }
	db := newDB(sqlDB, SQLite, func(q string) string { return q }, closeAll, ckpt)
	db.owner = owner
	db.wake = make(chan struct{}, 1)
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
