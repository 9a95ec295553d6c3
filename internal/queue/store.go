package queue

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/wpbridge/wpbridge/internal/contactsync"
)

// Webhook states in wpbridge_webhook.
const (
	statePending = "pending" // stored, waiting for a round of work
	stateClaimed = "claimed" // taken by a round that is running (or died)
	StateDone    = "done"
	StateIgnored = "ignored"
	StateFailed  = "failed"
)

const schema = `
CREATE TABLE IF NOT EXISTS wpbridge_webhook (
	id                INTEGER PRIMARY KEY AUTOINCREMENT,
	received_at       TEXT    NOT NULL,
	contact_id        TEXT    NOT NULL,
	action            TEXT    NOT NULL,
	role              TEXT    NOT NULL DEFAULT '',
	send_notification INTEGER NOT NULL DEFAULT 0,
	tags              TEXT,
	email_hint        TEXT    NOT NULL DEFAULT '',
	event_type        TEXT    NOT NULL DEFAULT '',
	initiated_from    TEXT    NOT NULL DEFAULT '',
	state             TEXT    NOT NULL DEFAULT 'pending',
	round             INTEGER,
	message           TEXT    NOT NULL DEFAULT '',
	user_id           INTEGER NOT NULL DEFAULT 0,
	finished_at       TEXT
);
CREATE INDEX IF NOT EXISTS wpbridge_webhook_contact_state ON wpbridge_webhook (contact_id, state);
CREATE INDEX IF NOT EXISTS wpbridge_webhook_state_finished ON wpbridge_webhook (state, finished_at);
CREATE TABLE IF NOT EXISTS wpbridge_pending_password (
	contact_id TEXT PRIMARY KEY,
	password   TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS wpbridge_ac_write (
	contact_id TEXT PRIMARY KEY,
	written_at TEXT NOT NULL
);
`

// OpenSQLite opens the embedded database at path with the settings that make
// a commit durable (WAL, synchronous=FULL) and one connection, as River's
// SQLite driver wants. It also takes an exclusive lock on path+".lock" so that
// two processes never share the file. The returned func closes both; call it last.
func OpenSQLite(ctx context.Context, path string) (*sql.DB, func() error, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, nil, fmt.Errorf("create database directory: %w", err)
		}
	}
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, nil, fmt.Errorf("database %s is in use by another wpbridge process (lock %s.lock): %w", path, path, err)
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)" +
		"&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		lock.Close()
		return nil, nil, fmt.Errorf("open database: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		lock.Close()
		return nil, nil, fmt.Errorf("open database %s: %w", path, err)
	}
	closeAll := func() error {
		err := db.Close()
		return errors.Join(err, lock.Close())
	}
	return db, closeAll, nil
}

// Webhook is one accepted webhook, as stored.
type Webhook struct {
	ID            int64
	ReceivedAt    time.Time
	Request       contactsync.Request
	EventType     string // AC "type" (empty for automation webhooks)
	InitiatedFrom string // AC "initiated_from"
}

// Outcome is where a stored webhook stands.
type Outcome struct {
	WebhookID int64
	State     string // pending (also while claimed), done, ignored, failed
	Message   string
	UserID    int64
}

// Final reports whether the webhook is finished for good.
func (o Outcome) Final() bool {
	return o.State == StateDone || o.State == StateIgnored || o.State == StateFailed
}

func timeText(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// insertWebhook stores w inside tx and returns its id.
func insertWebhook(ctx context.Context, tx *sql.Tx, w *Webhook) (int64, error) {
	var tags sql.NullString
	if w.Request.HasTags {
		b, err := json.Marshal(w.Request.Tags)
		if err != nil {
			return 0, fmt.Errorf("encode tags: %w", err)
		}
		tags = sql.NullString{String: string(b), Valid: true}
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO wpbridge_webhook
		(received_at, contact_id, action, role, send_notification, tags, email_hint, event_type, initiated_from)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		timeText(w.ReceivedAt), w.Request.ContactID, string(w.Request.Action), w.Request.Role,
		w.Request.SendNotification, tags, w.Request.EmailHint, w.EventType, w.InitiatedFrom)
	if err != nil {
		return 0, fmt.Errorf("insert webhook: %w", err)
	}
	return res.LastInsertId()
}

// outcome reads where webhook id stands.
func outcome(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id int64) (Outcome, error) {
	o := Outcome{WebhookID: id}
	err := q.QueryRowContext(ctx, `SELECT state, message, user_id FROM wpbridge_webhook WHERE id = ?`, id).
		Scan(&o.State, &o.Message, &o.UserID)
	if err != nil {
		return Outcome{}, fmt.Errorf("read webhook %d: %w", id, err)
	}
	if o.State == stateClaimed {
		o.State = statePending
	}
	return o, nil
}

// claimed is the set of webhooks one round of work covers.
type claimed struct {
	ids     []int64
	actions []contactsync.Action
	req     contactsync.Request
}

// claim takes every unfinished webhook of a contact for round. Webhooks left
// claimed by a round that died (its process was killed) are taken again: the
// caller holds the contact's lock, so no other live round has them.
func claim(ctx context.Context, db *sql.DB, contactID string, round int64) (*claimed, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin claim: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after commit this is a no-op
	rows, err := tx.QueryContext(ctx, `SELECT id, action, role, send_notification, tags, email_hint
		FROM wpbridge_webhook WHERE contact_id = ? AND state IN ('pending', 'claimed') ORDER BY id`, contactID)
	if err != nil {
		return nil, fmt.Errorf("select webhooks: %w", err)
	}
	c := &claimed{}
	for rows.Next() {
		var (
			id     int64
			r      contactsync.Request
			action string
			tags   sql.NullString
		)
		if err := rows.Scan(&id, &action, &r.Role, &r.SendNotification, &tags, &r.EmailHint); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan webhook: %w", err)
		}
		r.ContactID, r.Action = contactID, contactsync.Action(action)
		if tags.Valid {
			if err := json.Unmarshal([]byte(tags.String), &r.Tags); err != nil {
				rows.Close()
				return nil, fmt.Errorf("decode tags of webhook %d: %w", id, err)
			}
			r.HasTags = true
		}
		if len(c.ids) == 0 {
			c.req = r
		} else {
			c.req = c.req.Merge(r)
		}
		c.ids = append(c.ids, id)
		c.actions = append(c.actions, r.Action)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("read webhooks: %w", err)
	}
	if len(c.ids) == 0 {
		return c, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE wpbridge_webhook SET state = 'claimed', round = ?
		WHERE id IN (`+placeholders(len(c.ids))+`)`, append([]any{round}, int64sAny(c.ids)...)...); err != nil {
		return nil, fmt.Errorf("claim webhooks: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit claim: %w", err)
	}
	return c, nil
}

// finish records the outcome of each claimed webhook.
func finish(ctx context.Context, db *sql.DB, outs []Outcome) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin finish: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck
	now := timeText(time.Now())
	for _, o := range outs {
		if _, err := tx.ExecContext(ctx, `UPDATE wpbridge_webhook SET state = ?, message = ?, user_id = ?, finished_at = ?
			WHERE id = ?`, o.State, o.Message, o.UserID, now, o.WebhookID); err != nil {
			return fmt.Errorf("record outcome of webhook %d: %w", o.WebhookID, err)
		}
	}
	return tx.Commit()
}

// release hands claimed webhooks back to pending after a failed round.
func release(ctx context.Context, db *sql.DB, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := db.ExecContext(ctx, `UPDATE wpbridge_webhook SET state = 'pending', round = NULL
		WHERE state = 'claimed' AND id IN (`+placeholders(len(ids))+`)`, int64sAny(ids)...)
	if err != nil {
		return fmt.Errorf("release webhooks: %w", err)
	}
	return nil
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

func int64sAny(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// Passwords implements contactsync.PasswordStore on the database.
type Passwords struct{ DB *sql.DB }

var _ contactsync.PasswordStore = Passwords{}

// PendingPassword returns the generated password not yet written to AC.
func (p Passwords) PendingPassword(ctx context.Context, contactID string) (string, bool, error) {
	var pw string
	err := p.DB.QueryRowContext(ctx, `SELECT password FROM wpbridge_pending_password WHERE contact_id = ?`, contactID).Scan(&pw)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read pending password of contact %s: %w", contactID, err)
	}
	return pw, true, nil
}

// SavePendingPassword stores a generated password until it reaches AC.
func (p Passwords) SavePendingPassword(ctx context.Context, contactID, pw string) error {
	_, err := p.DB.ExecContext(ctx, `INSERT INTO wpbridge_pending_password (contact_id, password, created_at) VALUES (?, ?, ?)
		ON CONFLICT (contact_id) DO UPDATE SET password = excluded.password, created_at = excluded.created_at`,
		contactID, pw, timeText(time.Now()))
	if err != nil {
		return fmt.Errorf("store pending password of contact %s: %w", contactID, err)
	}
	return nil
}

// DeletePendingPassword forgets the password once it reached AC.
func (p Passwords) DeletePendingPassword(ctx context.Context, contactID string) error {
	if _, err := p.DB.ExecContext(ctx, `DELETE FROM wpbridge_pending_password WHERE contact_id = ?`, contactID); err != nil {
		return fmt.Errorf("delete pending password of contact %s: %w", contactID, err)
	}
	return nil
}
