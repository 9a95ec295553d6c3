package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wpbridge/wpbridge/internal/webhook"
)

// ListOptions filter List. Zero values match everything; Limit 0 means 50.
type ListOptions struct {
	State     string // pending, done, ignored or failed
	ContactID string
	Limit     int
}

const recordColumns = `id, received_at, source, async, contact_id, action, role, send_notification, tags, email_hint,
	state, attempts, last_error, message, user_id, retry_from, finished_at, delete_user, reassign`

// List returns stored webhooks, newest first.
func (s *Webhooks) List(ctx context.Context, o ListOptions) ([]webhook.Record, error) {
	var where []string
	var args []any
	switch o.State {
	case "":
	case webhook.StatePending:
		where = append(where, `state IN ('pending', 'claimed')`)
	default:
		where, args = append(where, `state = ?`), append(args, o.State)
	}
	if o.ContactID != "" {
		where, args = append(where, `contact_id = ?`), append(args, o.ContactID)
	}
	q := `SELECT ` + recordColumns + ` FROM wpbridge_webhook`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	if o.Limit <= 0 {
		o.Limit = 50
	}
	rows, err := s.c.db.QueryContext(ctx, s.c.rebind(q+` ORDER BY id DESC LIMIT ?`), append(args, o.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	defer rows.Close()
	var out []webhook.Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return out, nil
}

// Get returns webhook id, or an error wrapping ErrNotFound.
func (s *Webhooks) Get(ctx context.Context, id int64) (webhook.Record, error) {
	rows, err := s.c.db.QueryContext(ctx, s.c.rebind(`SELECT `+recordColumns+` FROM wpbridge_webhook WHERE id = ?`), id)
	if err != nil {
		return webhook.Record{}, fmt.Errorf("read webhook %d: %w", id, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return webhook.Record{}, fmt.Errorf("read webhook %d: %w", id, err)
		}
		return webhook.Record{}, fmt.Errorf("webhook %d: %w", id, webhook.ErrNotFound)
	}
	return scanRecord(rows)
}

// scanRecord reads one row of recordColumns.
func scanRecord(rows *sql.Rows) (webhook.Record, error) {
	var (
		r                       webhook.Record
		received, retry, action string
		tags, finished          sql.NullString
	)
	if err := rows.Scan(&r.ID, &received, &r.Source, &r.Async, &r.Request.ContactID, &action, &r.Request.Role,
		&r.Request.SendNotification, &tags, &r.Request.EmailHint, &r.State, &r.Attempts, &r.Error, &r.Message,
		&r.UserID, &retry, &finished, &r.Request.Delete, &r.Request.Reassign); err != nil {
		return r, fmt.Errorf("scan webhook: %w", err)
	}
	r.Request.Action = webhook.Action(action)
	if r.State == stateClaimed {
		r.State = webhook.StatePending
	}
	r.ReceivedAt = parseTime(received)
	r.RetryFrom = parseTime(retry)
	if finished.Valid {
		r.FinishedAt = parseTime(finished.String)
	}
	if tags.Valid {
		r.Request.HasTags = true
		if err := json.Unmarshal([]byte(tags.String), &r.Request.Tags); err != nil {
			return r, fmt.Errorf("decode tags of webhook %d: %w", r.ID, err)
		}
	}
	return r, nil
}

// parseTime reads a stored time; a malformed one reads as zero.
func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// FailedIDs returns the ids of the failed webhooks, oldest first, of one
// contact when contactID is not empty.
func (s *Webhooks) FailedIDs(ctx context.Context, contactID string) ([]int64, error) {
	q, args := `SELECT id FROM wpbridge_webhook WHERE state = 'failed'`, []any{}
	if contactID != "" {
		q, args = q+` AND contact_id = ?`, append(args, contactID)
	}
	rows, err := s.c.db.QueryContext(ctx, s.c.rebind(q+` ORDER BY id`), args...)
	if err != nil {
		return nil, fmt.Errorf("list failed webhooks: %w", err)
	}
	ids, err := scanIDs(rows)
	if err != nil {
		return nil, fmt.Errorf("list failed webhooks: %w", err)
	}
	return ids, nil
}

// Retried is a webhook put back to pending by RetryTx.
type Retried struct {
	ID        int64
	ContactID string
}

// RetryTx puts the failed webhooks among ids back to pending inside tx, with
// a fresh retry budget: their retry horizon starts at now. Their attempts
// and last error are kept for the history. Webhooks that are not failed are
// left alone; the caller inserts a job for each one returned.
func (s *Webhooks) RetryTx(ctx context.Context, tx *sql.Tx, ids []int64, now time.Time) ([]Retried, error) {
	var out []Retried
	for _, id := range ids {
		r := Retried{ID: id}
		err := s.c.queryRow(ctx, tx, `UPDATE wpbridge_webhook SET state = 'pending', round = NULL, message = '',
			finished_at = NULL, retry_from = ? WHERE id = ? AND state = 'failed' RETURNING contact_id`,
			timeText(now), id).Scan(&r.ContactID)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("retry webhook %d: %w", id, err)
		}
		out = append(out, r)
	}
	return out, nil
}
