package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// DefaultEchoWindow is how long after wpbridge wrote to a contact in AC an
// update webhook from the API counts as the echo of that write.
const DefaultEchoWindow = 2 * time.Minute

// Echoes records wpbridge's own writes to ActiveCampaign contacts, so that
// the update webhook AC sends back for such a write is recognised as an echo
// and not worked again.
//
// A write is recorded in two steps, because the echo webhook can arrive
// before the answer to the write does: Begin records the write as in flight
// before it is sent (an echo arriving meanwhile is recognised), and the
// EchoWrite it returns is then confirmed when the write succeeded, or
// cancelled when it failed. A cancelled write leaves the table as it was
// before Begin, so a genuine update made through the API right after a
// failed write is worked, not dropped as an echo. The one update still
// mistaken for an echo is a genuine one arriving while a write that then
// fails is in flight (a second or so).
type Echoes struct {
	c      conn
	Window time.Duration // a record counts this long (DefaultEchoWindow)
}

// EchoWrite is one write to a contact in flight, recorded by Echoes.Begin.
// Settle it with Confirm or Cancel.
type EchoWrite struct {
	e         *Echoes
	contactID string
	at        string         // written_at of the in-flight record
	prev      sql.NullString // written_at of the record it replaced, if any
}

// Begin records that wpbridge is about to write to contact contactID in AC.
// Rounds of one contact never run at the same time, so at most one write per
// contact is in flight.
func (e *Echoes) Begin(ctx context.Context, contactID string) (*EchoWrite, error) {
	w := &EchoWrite{e: e, contactID: contactID, at: timeText(time.Now())}
	tx, err := e.c.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("record AC write to contact %s: %w", contactID, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	err = e.c.queryRow(ctx, tx, `SELECT written_at FROM wpbridge_ac_write WHERE contact_id = ?`, contactID).Scan(&w.prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("record AC write to contact %s: %w", contactID, err)
	}
	if _, err := e.c.exec(ctx, tx, `INSERT INTO wpbridge_ac_write (contact_id, written_at) VALUES (?, ?)
		ON CONFLICT (contact_id) DO UPDATE SET written_at = excluded.written_at`, contactID, w.at); err != nil {
		return nil, fmt.Errorf("record AC write to contact %s: %w", contactID, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("record AC write to contact %s: %w", contactID, err)
	}
	return w, nil
}

// Confirm notes that the write succeeded: its echo is expected for Window
// from now. If the echo already came (and took the record), nothing is
// recorded again.
func (w *EchoWrite) Confirm(ctx context.Context) error {
	if _, err := w.e.c.exec(ctx, w.e.c.db, `UPDATE wpbridge_ac_write SET written_at = ? WHERE contact_id = ? AND written_at = ?`,
		timeText(time.Now()), w.contactID, w.at); err != nil {
		return fmt.Errorf("confirm AC write to contact %s: %w", w.contactID, err)
	}
	return nil
}

// Cancel notes that the write failed: no echo is expected for it, and the
// record of an earlier write, if Begin replaced one, is put back.
func (w *EchoWrite) Cancel(ctx context.Context) error {
	var err error
	if w.prev.Valid {
		_, err = w.e.c.exec(ctx, w.e.c.db, `UPDATE wpbridge_ac_write SET written_at = ? WHERE contact_id = ? AND written_at = ?`,
			w.prev.String, w.contactID, w.at)
	} else {
		_, err = w.e.c.exec(ctx, w.e.c.db, `DELETE FROM wpbridge_ac_write WHERE contact_id = ? AND written_at = ?`, w.contactID, w.at)
	}
	if err != nil {
		return fmt.Errorf("forget failed AC write to contact %s: %w", w.contactID, err)
	}
	return nil
}

// Record notes that wpbridge wrote to contact contactID in AC (Begin and
// Confirm at once).
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
