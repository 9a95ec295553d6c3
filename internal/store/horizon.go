package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/wpbridge/wpbridge/internal/webhook"
)

// Postponed is what Postpone did with a round's webhooks.
type Postponed struct {
	Failed   []int64 // webhooks past their retry horizon, now failed
	Attempts int     // the most attempts of a webhook of the round, this one included
}

// Postpone records a temporary failure of a round on the webhooks it
// covered, in one transaction: each counts an attempt and keeps errMsg as
// its last error. Those whose retry horizon started before expiredBefore
// (they arrived, or were last retried by hand, that long ago) are failed
// with failMsg; the others go back to pending, to be retried.
func (s *Webhooks) Postpone(ctx context.Context, ids []int64, errMsg, failMsg string, expiredBefore time.Time) (Postponed, error) {
	var p Postponed
	if len(ids) == 0 {
		return p, nil
	}
	tx, err := s.c.db.BeginTx(ctx, nil)
	if err != nil {
		return p, fmt.Errorf("begin postpone: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after commit this is a no-op
	in, args := placeholders(len(ids)), int64sAny(ids)
	if p.Attempts, err = s.countAttempt(ctx, tx, in, args, errMsg); err != nil {
		return p, err
	}
	rows, err := tx.QueryContext(ctx, s.c.rebind(`UPDATE wpbridge_webhook SET state = ?, message = ?, finished_at = ?, round = NULL
		WHERE state IN ('pending', 'claimed') AND retry_from < ? AND id IN (`+in+`) RETURNING id`),
		append([]any{webhook.StateFailed, failMsg, timeText(time.Now()), timeText(expiredBefore)}, args...)...)
	if err != nil {
		return p, fmt.Errorf("fail webhooks past their retry horizon: %w", err)
	}
	if p.Failed, err = scanIDs(rows); err != nil {
		return p, fmt.Errorf("fail webhooks past their retry horizon: %w", err)
	}
	if _, err := s.c.exec(ctx, tx, `UPDATE wpbridge_webhook SET state = 'pending', round = NULL
		WHERE state = 'claimed' AND id IN (`+in+`)`, args...); err != nil {
		return p, fmt.Errorf("release webhooks: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return p, fmt.Errorf("commit postpone: %w", err)
	}
	return p, nil
}

// countAttempt counts an attempt of the webhooks in (in, args), records
// errMsg as their last error, and returns the most attempts among them.
func (s *Webhooks) countAttempt(ctx context.Context, tx *sql.Tx, in string, args []any, errMsg string) (int, error) {
	rows, err := tx.QueryContext(ctx, s.c.rebind(`UPDATE wpbridge_webhook SET attempts = attempts + 1, last_error = ?
		WHERE id IN (`+in+`) RETURNING attempts`), append([]any{errMsg}, args...)...)
	if err != nil {
		return 0, fmt.Errorf("count attempts: %w", err)
	}
	counts, err := scanIDs(rows)
	if err != nil {
		return 0, fmt.Errorf("count attempts: %w", err)
	}
	most := 0
	for _, n := range counts {
		most = max(most, int(n))
	}
	return most, nil
}

// RetryFrom returns when webhook id's retry horizon started: its arrival,
// or its last manual retry.
func (s *Webhooks) RetryFrom(ctx context.Context, id int64) (time.Time, error) {
	var text string
	if err := s.c.queryRow(ctx, s.c.db, `SELECT retry_from FROM wpbridge_webhook WHERE id = ?`, id).Scan(&text); err != nil {
		return time.Time{}, fmt.Errorf("read webhook %d: %w", id, err)
	}
	t, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return time.Time{}, fmt.Errorf("webhook %d: retry_from %q: %w", id, text, err)
	}
	return t, nil
}

// scanIDs reads a one-column integer result and closes rows.
func scanIDs(rows *sql.Rows) ([]int64, error) {
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, id)
	}
	return out, errors.Join(rows.Err(), rows.Close())
}
