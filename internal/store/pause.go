package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The pauses shared by the processes on one PostgreSQL database, in the
// table wpbridge_pause: the pause of all work after rejected credentials
// (here; package fleet keeps it) and the pause of AC requests
// (ACBudget.Pause).

// workPause is the name of the pause of all work in wpbridge_pause.
const workPause = "work"

// errNotShared is returned by the fleet-wide pauses on SQLite.
var errNotShared = errors.New("a pause shared by several processes needs PostgreSQL")

// PauseWork pauses all work of every process sharing the database for d from
// now (extending, never shortening, a pause in force), saying why. PostgreSQL
// only: on SQLite one process does the work and keeps its pause in memory.
func (db *DB) PauseWork(ctx context.Context, d time.Duration, reason string) error {
	if db.Backend != PostgreSQL {
		return errNotShared
	}
	if err := setPause(ctx, db.SQL, workPause, d, reason); err != nil {
		return fmt.Errorf("pause work: %w", err)
	}
	return nil
}

// WorkPaused returns how much longer PauseWork's pause lasts, and its reason
// (0 and "" when work is not paused).
func (db *DB) WorkPaused(ctx context.Context) (time.Duration, string, error) {
	if db.Backend != PostgreSQL {
		return 0, "", errNotShared
	}
	var us int64
	var reason string
	err := db.SQL.QueryRowContext(ctx, `SELECT ceil(extract(epoch FROM paused_until - clock_timestamp()) * 1000000)::bigint, reason
		FROM wpbridge_pause WHERE name = $1 AND paused_until > clock_timestamp()`, workPause).Scan(&us, &reason)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("read the work pause: %w", err)
	}
	return time.Duration(us) * time.Microsecond, reason, nil
}

// ResumeWork ends PauseWork's pause.
func (db *DB) ResumeWork(ctx context.Context) error {
	if db.Backend != PostgreSQL {
		return errNotShared
	}
	if _, err := db.SQL.ExecContext(ctx, `DELETE FROM wpbridge_pause WHERE name = $1`, workPause); err != nil {
		return fmt.Errorf("resume work: %w", err)
	}
	return nil
}

// setPause records the pause name until d from now (or later, if it already
// lasts longer), with reason.
func setPause(ctx context.Context, db *sql.DB, name string, d time.Duration, reason string) error {
	_, err := db.ExecContext(ctx, `INSERT INTO wpbridge_pause (name, paused_until, reason)
		VALUES ($1, clock_timestamp() + $2::bigint * interval '1 microsecond', $3)
		ON CONFLICT (name) DO UPDATE SET reason = EXCLUDED.reason,
			paused_until = GREATEST(wpbridge_pause.paused_until, EXCLUDED.paused_until)`, name, d.Microseconds(), reason)
	return err
}
