package fleet

import (
	"context"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/internal/maintenance"
	"github.com/wpbridge/wpbridge/internal/store"
)

// local is the fleet of one: SQLite, whose database lock (store.OpenSQLite)
// makes this process the only one working its jobs.
type local struct {
	db    *store.DB
	id    string
	log   logrus.FieldLogger
	pause pause
}

func (l *local) ID() string                   { return l.id }
func (l *local) CheckPool(int) error          { return nil }
func (l *local) OutcomePoll() time.Duration   { return 0 }
func (l *local) Rescuer() maintenance.Service { return maintenance.None{} }
func (l *local) Leave()                       {}

// LockContact has nothing to take: the caller's in-process lock is the lock.
func (l *local) LockContact(context.Context, string) (func(), bool, error) {
	return func() {}, true, nil
}

func (l *local) Pause(d time.Duration, reason string) { l.pause.set(d, reason) }
func (l *local) Resume() string                       { return l.pause.clear() }

func (l *local) Paused(context.Context) (time.Duration, string) { return l.pause.state() }

// Join makes the jobs an earlier process left running available again: no
// other process works them, so they are orphans.
func (l *local) Join(ctx context.Context) error {
	res, err := l.db.SQL.ExecContext(ctx, `UPDATE river_job SET state = 'available', scheduled_at = datetime('now', 'subsec') WHERE state = 'running'`)
	if err != nil {
		return fmt.Errorf("fleet: rescue orphaned jobs: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		l.log.WithField("jobs", n).Warn("resumed jobs interrupted by an earlier stop")
	}
	return nil
}
