package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"
)

// privateMode is the mode of every database file: the database holds
// generated passwords until they reach ActiveCampaign.
const privateMode fs.FileMode = 0o600

// sqliteFiles are the files of the SQLite database at path: the database,
// its write-ahead log and shared-memory index, and wpbridge's lock.
func sqliteFiles(path string) []string {
	return []string{path, path + "-wal", path + "-shm", path + ".lock"}
}

// securePath makes sure the database file exists with mode 0600 before
// SQLite opens it: a new one is created so, whatever the umask, and SQLite
// gives its -wal and -shm files the database file's mode. Existing files
// readable or writable by others are tightened to 0600; their names are
// returned, so that the caller can warn.
func securePath(path string) (tightened []string, err error) {
	for _, name := range sqliteFiles(path) {
		st, err := os.Stat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return tightened, fmt.Errorf("check permissions of %s: %w", name, err)
		}
		if st.Mode().Perm() != privateMode && st.Mode().IsRegular() {
			if err := os.Chmod(name, privateMode); err != nil {
				return tightened, fmt.Errorf("make %s readable by its owner only: %w", name, err)
			}
			tightened = append(tightened, name)
		}
	}
	return tightened, createPrivate(path)
}

// createPrivate creates path with mode 0600 unless it exists.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, privateMode)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	// The umask may have taken bits away from 0600: set it exactly.
	return errors.Join(f.Chmod(privateMode), f.Close())
}

// eraseInterval is the shortest time between two erasing checkpoints.
// Each one holds the only SQLite connection while it copies the log into
// the database and syncs both files, so a burst of returned passwords is
// erased by one checkpoint, not one each: a deleted password stays in the
// write-ahead log for at most about this long.
const eraseInterval = time.Second

// eraseFreed asks for deleted rows to be made unreadable from the files, at
// the latest after eraseInterval. secure_delete (set when the database is
// opened) overwrites deleted content in its page, but earlier versions of
// the page stay in the write-ahead log until it is checkpointed and
// truncated, which the eraser does. On PostgreSQL deleted rows go when
// VACUUM reclaims their space; that is the database operator's
// (autovacuum's) business.
func (c conn) eraseFreed() { c.eraser.request() }

// eraser runs the erasing checkpoints of one SQLite database in the
// background, at most one per interval. Close runs the last one owed.
type eraser struct {
	db   *sql.DB // the database's handle (its one connection)
	side *sql.DB // a handle of the eraser's own on the same file
	kick chan struct{} // an erase is owed
	stop chan struct{}
	done chan struct{}
	once sync.Once // close
}

func startEraser(db, side *sql.DB, interval time.Duration) *eraser {
	e := &eraser{db: db, side: side, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go e.run(interval)
	return e
}

// request owes an erase; it never waits. A nil eraser (PostgreSQL) does
// nothing.
func (e *eraser) request() {
	if e == nil {
		return
	}
	select {
	case e.kick <- struct{}{}:
	default: // owed already
	}
}

func (e *eraser) run(interval time.Duration) {
	defer close(e.done)
	for {
		select {
		case <-e.stop:
			return
		case <-e.kick:
		}
		if !e.checkpoint() {
			e.request() // a reader held the log: try again next time
		}
		select {
		case <-e.stop:
			return
		case <-time.After(interval):
		}
	}
}

// close stops the eraser and runs the erase still owed, if any.
func (e *eraser) close() {
	if e == nil {
		return
	}
	e.once.Do(func() {
		close(e.stop)
		<-e.done
		select {
		case <-e.kick:
			e.checkpoint()
		default:
		}
	})
}

// checkpoint copies the write-ahead log into the database and truncates
// it, in two steps so that the one connection is held only briefly: first
// a passive checkpoint on the eraser's own handle copies the log while
// webhooks keep being committed, then a truncating one on the connection
// copies what was committed meanwhile and empties the log. It never waits
// for another process reading the database, and reports whether the log
// was truncated. An error is not the caller's (the deletes are committed
// and overwritten in their pages already): it reports false, and the erase
// is tried again.
func (e *eraser) checkpoint() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := e.side.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
		return false
	}
	cn, err := e.db.Conn(ctx)
	if err != nil {
		return false
	}
	defer cn.Close()
	if _, err := cn.ExecContext(ctx, `PRAGMA busy_timeout = 0`); err != nil {
		return false
	}
	var busy, logFrames, checkpointed int
	err = cn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &checkpointed)
	_, rerr := cn.ExecContext(context.WithoutCancel(ctx), `PRAGMA busy_timeout = `+fmt.Sprint(busyTimeoutMS))
	return err == nil && rerr == nil && busy == 0
}
