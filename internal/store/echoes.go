package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// DefaultEchoWindow is how long after wpbridge wrote to a contact in AC an
// update webhook from the API counts as the echo of that write.
const DefaultEchoWindow = 2 * time.Minute

// Echoes records wpbridge's own writes to ActiveCampaign contacts, so that
// the update webhook AC sends back for such a write is recognised as an echo
// and not worked again.
type Echoes struct {
	c      conn
	Window time.Duration // a record counts this long (DefaultEchoWindow)
}

// Record notes that wpbridge is writing to contact contactID in AC.
func (e *Echoes) Record(ctx context.Context, contactID string) error {
	_, err := e.c.exec(ctx, e.c.db, `INSERT INTO wpbridge_ac_write (contact_id, written_at) VALUES (?, ?)
		ON CONFLICT (contact_id) DO UPDATE SET written_at = excluded.written_at`, contactID, timeText(time.Now()))
	if err != nil {
		return fmt.Errorf("record AC write to contact %s: %w", contactID, err)
	}
	return nil
}

// TakeTx reports, inside tx, whether a write to contactID was recorded within
// the window, and if so consumes the record, so that one write excuses one
// echo.
func (e *Echoes) TakeTx(ctx context.Context, tx *sql.Tx, contactID string) (bool, error) {
	since := timeText(time.Now().Add(-e.Window))
	res, err := e.c.exec(ctx, tx, `DELETE FROM wpbridge_ac_write WHERE contact_id = ? AND written_at >= ?`, contactID, since)
	if err != nil {
		return false, fmt.Errorf("check echo: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// DeleteExpired deletes the records older than the window.
func (e *Echoes) DeleteExpired(ctx context.Context) error {
	if _, err := e.c.exec(ctx, e.c.db, `DELETE FROM wpbridge_ac_write WHERE written_at < ?`,
		timeText(time.Now().Add(-e.Window))); err != nil {
		return fmt.Errorf("delete old AC write records: %w", err)
	}
	return nil
}
