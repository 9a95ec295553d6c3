package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ACBudget is the ActiveCampaign request budget shared by every process on one
// PostgreSQL database: the ledger of held slots and the pause of
// pkg/ratelimit (a ratelimit.Ledger), in the table wpbridge_ac_slot and the
// row 'ac' of wpbridge_pause. Every time is the database's: durations come in
// and go out, so the processes' clocks do not matter. Each call is one round
// trip on one of the pool's connections, held only for it.
type ACBudget struct{ db *sql.DB }

// ACBudget returns the database's shared AC budget, or nil on SQLite, where
// one process owns the database and its limiter keeps the budget in memory
// (and for a nil db).
func (db *DB) ACBudget() *ACBudget {
	if db == nil || db.Backend != PostgreSQL {
		return nil
	}
	return &ACBudget{db: db.SQL}
}

// HasACBudget reports whether the database holds the shared AC budget:
// PostgreSQL, migrated (by Migrate, which every wpbridge process sharing it
// runs at start).
func (db *DB) HasACBudget(ctx context.Context) (bool, error) {
	if db.ACBudget() == nil {
		return false, nil
	}
	var ok bool
	if err := db.SQL.QueryRowContext(ctx, `SELECT to_regproc('wpbridge_ac_take') IS NOT NULL`).Scan(&ok); err != nil {
		return false, fmt.Errorf("look for the AC budget: %w", err)
	}
	return ok, nil
}

// acTakeFunction takes a slot as ACBudget.Take describes, in one statement:
// under a transaction-scoped advisory lock, so that the slots are counted and
// taken by one process at a time, on the clock read once the lock is held (a
// PL/pgSQL function, because each of its statements sees what the previous
// holder of the lock committed).
const acTakeFunction = `
CREATE OR REPLACE FUNCTION wpbridge_ac_take(n integer, hold_us bigint, OUT slot bigint, OUT wait_us bigint)
LANGUAGE plpgsql AS $$
DECLARE
	v_now   timestamptz;
	v_until timestamptz;
BEGIN
	PERFORM pg_advisory_xact_lock(` + acBudgetLockKey + `);
	v_now := clock_timestamp();
	SELECT paused_until INTO v_until FROM wpbridge_pause WHERE name = 'ac';
	IF v_until > v_now THEN
		wait_us := ceil(extract(epoch FROM v_until - v_now) * 1000000);
		RETURN;
	END IF;
	DELETE FROM wpbridge_ac_slot WHERE held_until <= v_now;
	IF (SELECT count(*) FROM wpbridge_ac_slot) < n THEN
		INSERT INTO wpbridge_ac_slot (held_until) VALUES (v_now + hold_us * interval '1 microsecond')
			RETURNING id INTO slot;
		RETURN;
	END IF;
	SELECT ceil(extract(epoch FROM min(held_until) - v_now) * 1000000) INTO wait_us FROM wpbridge_ac_slot;
END
$$;
`

// acBudgetLockKey is the advisory lock taken by wpbridge_ac_take ("wpbacbdg";
// one-key locks are apart from the two-key ones on contacts).
const acBudgetLockKey = "8606487058323760231"

// Take holds a new slot for hold, if fewer than n are held and AC is not
// paused, and returns its id; otherwise 0 and how long until the first held
// slot comes free or the pause ends.
func (b *ACBudget) Take(ctx context.Context, n int, hold time.Duration) (int64, time.Duration, error) {
	var slot, wait sql.NullInt64
	err := b.db.QueryRowContext(ctx, `SELECT slot, wait_us FROM wpbridge_ac_take($1, $2)`,
		n, hold.Microseconds()).Scan(&slot, &wait)
	if err != nil {
		return 0, 0, fmt.Errorf("take an AC request slot: %w", err)
	}
	return slot.Int64, time.Duration(wait.Int64) * time.Microsecond, nil
}

// Hold holds slot for d from now (again, if it had come free meanwhile);
// d <= 0 frees it.
func (b *ACBudget) Hold(ctx context.Context, slot int64, d time.Duration) error {
	var err error
	if d <= 0 {
		_, err = b.db.ExecContext(ctx, `DELETE FROM wpbridge_ac_slot WHERE id = $1`, slot)
	} else {
		_, err = b.db.ExecContext(ctx, `INSERT INTO wpbridge_ac_slot (id, held_until)
			VALUES ($1, clock_timestamp() + $2::bigint * interval '1 microsecond')
			ON CONFLICT (id) DO UPDATE SET held_until = EXCLUDED.held_until`, slot, d.Microseconds())
	}
	if err != nil {
		return fmt.Errorf("hold AC request slot %d: %w", slot, err)
	}
	return nil
}

// Pause stops every Take for d from now, extending and never shortening a
// pause in force.
func (b *ACBudget) Pause(ctx context.Context, d time.Duration) error {
	if err := setPause(ctx, b.db, "ac", d, ""); err != nil {
		return fmt.Errorf("pause AC requests: %w", err)
	}
	return nil
}
