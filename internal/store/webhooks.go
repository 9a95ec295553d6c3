package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/wpbridge/wpbridge/internal/webhook"
)

// stateClaimed is the state of a webhook taken by a round that is running
// (or died); it reads as pending (webhook.StatePending).
const stateClaimed = "claimed"

// idChunk is how many ids one statement names at most: SQLite takes at
// most 32,766 variables in a statement, and a contact may have more pending
// webhooks than that.
const idChunk = 1000

// Webhooks is the table of stored webhooks.
type Webhooks struct{ c conn }

// Insert stores w inside tx (pending) and returns its id. Its retry horizon
// starts at its arrival. A webhook with an EventKey already stored is not
// stored again: Insert returns 0 and no error.
func (s *Webhooks) Insert(ctx context.Context, tx *sql.Tx, w *webhook.Webhook) (int64, error) {
	var tags sql.NullString
	if w.Request.HasTags {
		b, err := json.Marshal(w.Request.Tags)
		if err != nil {
			return 0, fmt.Errorf("encode tags: %w", err)
		}
		tags = sql.NullString{String: string(b), Valid: true}
	}
	source := w.Source
	if source == "" {
		source = webhook.SourceWebhook
	}
	var event, key sql.NullString
	if w.Request.Event != nil {
		event = sql.NullString{String: string(w.Request.Event), Valid: true}
	}
	if w.EventKey != "" {
		key = sql.NullString{String: w.EventKey, Valid: true}
	}
	eventType := w.EventType
	if w.Request.Action == webhook.ActionWordPressSync && w.Request.Register {
		eventType = eventRegister
	}
	var id int64
	err := s.c.queryRow(ctx, tx, `INSERT INTO wpbridge_webhook
		(received_at, retry_from, source, async, contact_id, action, role, send_notification, tags, email_hint,
		event_type, initiated_from, delete_user, reassign, event, event_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_key) DO NOTHING RETURNING id`,
		timeText(w.ReceivedAt), timeText(w.ReceivedAt), source, w.Async, w.Request.ContactID, string(w.Request.Action),
		w.Request.Role, w.Request.SendNotification, tags, w.Request.EmailHint, eventType, w.InitiatedFrom,
		w.Request.Delete, w.Request.Reassign, event, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) && key.Valid {
		return 0, nil // the event is stored already
	}
	if err != nil {
		return 0, fmt.Errorf("insert webhook: %w", err)
	}
	return id, nil
}

// Outcome reads where webhook id stands.
func (s *Webhooks) Outcome(ctx context.Context, id int64) (webhook.Outcome, error) {
	o := webhook.Outcome{WebhookID: id}
	err := s.c.queryRow(ctx, s.c.db, `SELECT state, message, user_id FROM wpbridge_webhook WHERE id = ?`, id).
		Scan(&o.State, &o.Message, &o.UserID)
	if err != nil {
		return webhook.Outcome{}, fmt.Errorf("read webhook %d: %w", id, err)
	}
	if o.State == stateClaimed {
		o.State = webhook.StatePending
	}
	return o, nil
}

// Claim takes every unfinished webhook of a contact for round. Webhooks left
// claimed by a round that died (its process was killed) are taken again: the
// caller makes sure no other live round of the contact has them.
func (s *Webhooks) Claim(ctx context.Context, contactID string, round int64) (*webhook.Claimed, error) {
	tx, err := s.c.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin claim: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after commit this is a no-op
	c, err := s.unfinished(ctx, tx, contactID)
	if err != nil || len(c.IDs) == 0 {
		return c, err
	}
	for ids := range slices.Chunk(c.IDs, idChunk) {
		if _, err := s.c.exec(ctx, tx, `UPDATE wpbridge_webhook SET state = 'claimed', round = ?
			WHERE id IN (`+placeholders(len(ids))+`)`, append([]any{round}, int64sAny(ids)...)...); err != nil {
			return nil, fmt.Errorf("claim webhooks: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit claim: %w", err)
	}
	return c, nil
}

// eventRegister is the event_type of a WordPress sign-up
// (webhook.ActionWordPressSync with Register).
const eventRegister = "register"

// unfinished reads a contact's unfinished webhooks in order and merges their
// requests: the first ones of one kind (webhook.Request.SameKind), so that a
// round covers either AC's webhooks or WordPress events, never both.
func (s *Webhooks) unfinished(ctx context.Context, tx *sql.Tx, contactID string) (*webhook.Claimed, error) {
	rows, err := tx.QueryContext(ctx, s.c.rebind(`SELECT id, action, role, send_notification, tags, email_hint, delete_user, reassign,
		event, event_type FROM wpbridge_webhook WHERE contact_id = ? AND state IN ('pending', 'claimed') ORDER BY id`), contactID)
	if err != nil {
		return nil, fmt.Errorf("select webhooks: %w", err)
	}
	c := &webhook.Claimed{}
	for rows.Next() {
		id, r, err := scanRequest(rows, contactID)
		if err != nil {
			rows.Close()
			return nil, err
		}
		if len(c.IDs) == 0 {
			c.Request = r
		} else if !c.Request.SameKind(r) {
			break // the next round covers the rest
		} else {
			c.Request = c.Request.Merge(r)
		}
		c.IDs = append(c.IDs, id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("read webhooks: %w", err)
	}
	return c, nil
}

// scanRequest reads one row of unfinished's query.
func scanRequest(rows *sql.Rows, contactID string) (int64, webhook.Request, error) {
	var (
		id     int64
		r      webhook.Request
		action string
		tags   sql.NullString
		event  sql.NullString
		etype  string
	)
	if err := rows.Scan(&id, &action, &r.Role, &r.SendNotification, &tags, &r.EmailHint, &r.Delete, &r.Reassign,
		&event, &etype); err != nil {
		return 0, r, fmt.Errorf("scan webhook: %w", err)
	}
	r.ContactID, r.Action = contactID, webhook.Action(action)
	if r.Action == webhook.ActionWordPressSync {
		if event.Valid {
			r.Event = []byte(event.String)
		}
		r.Register = etype == eventRegister
	}
	if tags.Valid {
		if err := json.Unmarshal([]byte(tags.String), &r.Tags); err != nil {
			return 0, r, fmt.Errorf("decode tags of webhook %d: %w", id, err)
		}
		r.HasTags = true
	}
	return id, r, nil
}

// Finish records the outcome of a round on each webhook it covered, in one
// transaction; each counts one attempt. A failed webhook keeps its message
// as its last error; a done or ignored one has none.
func (s *Webhooks) Finish(ctx context.Context, outs []webhook.Outcome) error {
	tx, err := s.c.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin finish: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after commit this is a no-op
	if err := s.finishTx(ctx, tx, outs, 1); err != nil {
		return err
	}
	return s.commitDroppingPasswords(ctx, tx)
}

// commitDroppingPasswords deletes, inside tx, the pending passwords that the
// webhooks just finished leave unneeded (Passwords.DeleteUnneeded), commits
// tx and erases them from the files.
func (s *Webhooks) commitDroppingPasswords(ctx context.Context, tx *sql.Tx) error {
	res, err := deleteUnneededPasswords(ctx, s.c, tx)
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit outcomes: %w", err)
	}
	// The outcomes are committed: an error counting the deleted rows is not
	// the caller's failure. The deleted rows are overwritten already
	// (secure_delete); their older copies in the write-ahead log go at the
	// next erase or checkpoint.
	_ = (&Passwords{c: s.c}).eraseIfDeleted(res) //nolint:errcheck // see above
	return nil
}

// FinishTx records the outcome of each webhook inside tx, without counting
// an attempt: for webhooks finished before any round (an echo).
func (s *Webhooks) FinishTx(ctx context.Context, tx *sql.Tx, outs []webhook.Outcome) error {
	return s.finishTx(ctx, tx, outs, 0)
}

func (s *Webhooks) finishTx(ctx context.Context, tx *sql.Tx, outs []webhook.Outcome, attempts int) error {
	now := timeText(time.Now())
	for _, o := range outs {
		lastError := ""
		if o.State == webhook.StateFailed {
			lastError = o.Message
		}
		if _, err := s.c.exec(ctx, tx, `UPDATE wpbridge_webhook SET state = ?, message = ?, user_id = ?, finished_at = ?,
			attempts = attempts + ?, last_error = ? WHERE id = ?`,
			o.State, o.Message, o.UserID, now, attempts, lastError, o.WebhookID); err != nil {
			return fmt.Errorf("record outcome of webhook %d: %w", o.WebhookID, err)
		}
	}
	return nil
}

// Fail fails webhook id with message unless it is already finished.
func (s *Webhooks) Fail(ctx context.Context, id int64, message string) error {
	tx, err := s.c.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin fail: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after commit this is a no-op
	if _, err := s.c.exec(ctx, tx, `UPDATE wpbridge_webhook SET state = ?, message = ?, last_error = ?, finished_at = ?
		WHERE id = ? AND state IN ('pending', 'claimed')`, webhook.StateFailed, message, message, timeText(time.Now()), id); err != nil {
		return fmt.Errorf("fail webhook %d: %w", id, err)
	}
	return s.commitDroppingPasswords(ctx, tx)
}

// Release hands claimed webhooks back to pending after a round that did not
// finish them.
func (s *Webhooks) Release(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	tx, err := s.c.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin release: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	for chunk := range slices.Chunk(ids, idChunk) {
		if _, err := s.c.exec(ctx, tx, `UPDATE wpbridge_webhook SET state = 'pending', round = NULL
			WHERE state = 'claimed' AND id IN (`+placeholders(len(chunk))+`)`, int64sAny(chunk)...); err != nil {
			return fmt.Errorf("release webhooks: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit release: %w", err)
	}
	return nil
}

// Unfinished counts the webhooks stored and not yet finished.
func (s *Webhooks) Unfinished(ctx context.Context) (int, error) {
	return s.unfinishedCount(ctx, s.c.db)
}

// UnfinishedTx counts, inside tx, the webhooks stored and not yet finished.
func (s *Webhooks) UnfinishedTx(ctx context.Context, tx *sql.Tx) (int, error) {
	return s.unfinishedCount(ctx, tx)
}

func (s *Webhooks) unfinishedCount(ctx context.Context, e execer) (int, error) {
	var n int
	err := s.c.queryRow(ctx, e, `SELECT count(*) FROM wpbridge_webhook WHERE state IN ('pending', 'claimed')`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count unfinished webhooks: %w", err)
	}
	return n, nil
}

// DeleteFinished deletes the webhooks finished before t.
func (s *Webhooks) DeleteFinished(ctx context.Context, t time.Time) error {
	if _, err := s.c.exec(ctx, s.c.db, `DELETE FROM wpbridge_webhook WHERE state IN ('done', 'ignored', 'failed')
		AND finished_at < ?`, timeText(t)); err != nil {
		return fmt.Errorf("delete finished webhooks: %w", err)
	}
	return nil
}
