package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// checkpointInterval is how often the checkpointer copies SQLite's
// write-ahead log into the database, and the longest a deleted password
// waits to be erased from the files.
const checkpointInterval = time.Second

// eraseFreed asks for deleted rows to be made unreadable from the files
// within checkpointInterval. secure_delete (set when the database is
// opened) overwrites deleted content in its page, but earlier versions of
// the page stay in the write-ahead log until it is checkpointed and
// truncated, which the checkpointer does. On PostgreSQL deleted rows go when
// VACUUM reclaims their space; that is the database operator's
// (autovacuum's) business.
func (c conn) eraseFreed() { c.ckpt.owe() }

// checkpointer runs the checkpoints of one SQLite database in the
// background, so that no commit pays for one: SQLite's own automatic
// checkpoint is off (wal_autocheckpoint=0), and it would run inside
// whichever commit crossed the log's size limit, an acknowledgement's as
// likely as any. Every checkpointInterval it copies the log into the
// database on a handle of its own (the one connection everything else
// shares stays free); when an erase is owed, or the log is long, it then
// also truncates the log, which holds that connection only for what was
// committed meanwhile. A burst of returned passwords is erased by one
// truncation, not one each. Close runs the erase still owed.
type checkpointer struct {
	db   *sql.DB // the database's handle (its one connection)
	side *sql.DB // the checkpointer's own handle on the same file
	owed chan struct{}
	stop chan struct{}
	done chan struct{}
	once sync.Once // close
}

func startCheckpointer(db, side *sql.DB, interval time.Duration) *checkpointer {
	c := &checkpointer{db: db, side: side, owed: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go c.run(interval)
	return c
}

// owe asks for an erase at the next checkpoint; it never waits. A nil
// checkpointer (PostgreSQL) does nothing.
func (c *checkpointer) owe() {
	if c == nil {
		return
	}
	select {
	case c.owed <- struct{}{}:
	default: // owed already
	}
}

func (c *checkpointer) run(interval time.Duration) {
	defer close(c.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		c.tick()
	}
}

// tick runs one checkpoint: the log is copied, then truncated when an
// erase is owed or when it is over maxLogFrames long. Commits that never
// pause would otherwise keep a passive copy from ever catching up, and the
// log from ever starting over.
func (c *checkpointer) tick() {
	erase := false
	select {
	case <-c.owed:
		erase = true
	default:
	}
	frames, err := c.copyLog()
	if !erase && (err != nil || frames <= maxLogFrames) {
		return
	}
	if !c.truncate() && erase {
		c.owe() // a reader held the log, or an error: again next time
	}
}

// maxLogFrames is the log length (pages) past which a checkpoint also
// truncates it: SQLite's own default for its automatic checkpoint.
const maxLogFrames = 1000

// close stops the checkpointer and runs the erase still owed, if any.
func (c *checkpointer) close() {
	if c == nil {
		return
	}
	c.once.Do(func() {
		close(c.stop)
		<-c.done
		select {
		case <-c.owed:
			c.copyLog() //nolint:errcheck // truncate copies what is left
			c.truncate()
		default:
		}
	})
}

// copyLog copies the write-ahead log into the database (a passive
// checkpoint: commits go on meanwhile) on the checkpointer's own handle, and
// returns the log's length in pages.
func (c *checkpointer) copyLog() (frames int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var busy, copied int
	err = c.side.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied)
	return frames, err
}

// truncate copies what is left of the log into the database and truncates
// it, so that earlier versions of deleted rows are gone from the files. It
// holds the one connection meanwhile, never waits for another process
// reading the database, and reports whether the log was truncated. An error
// is not a caller's (the deletes are committed and overwritten in their
// pages already): it reports false, and the erase is tried again.
func (c *checkpointer) truncate() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cn, err := c.db.Conn(ctx)
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
