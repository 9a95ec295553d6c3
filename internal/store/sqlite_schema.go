package store

import (
	"context"
	"database/sql"
	"fmt"
)

// sqliteSchema is the schema of version 0: the tables as the first release
// created them. Later versions are steps in sqliteMigrations.
const sqliteSchema = `
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

// sqliteMigrations are the schema steps after version 0; step i brings the
// database (PRAGMA user_version) from version i to i+1.
var sqliteMigrations = []string{
	// 1: the webhook history: where a webhook came from, its async flag,
	// how often it was tried, its last error, and where its retry horizon
	// starts (its arrival, or its last manual retry).
	`ALTER TABLE wpbridge_webhook ADD COLUMN source TEXT NOT NULL DEFAULT 'webhook';
	ALTER TABLE wpbridge_webhook ADD COLUMN async INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE wpbridge_webhook ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE wpbridge_webhook ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
	ALTER TABLE wpbridge_webhook ADD COLUMN retry_from TEXT NOT NULL DEFAULT '';
	UPDATE wpbridge_webhook SET retry_from = received_at;`,
	// 2: remove_access's options: delete the user, and whose email gets
	// its content.
	`ALTER TABLE wpbridge_webhook ADD COLUMN delete_user INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE wpbridge_webhook ADD COLUMN reassign TEXT NOT NULL DEFAULT '';`,
	// 3: WordPress outbox events (SYNC_TO_AC): the event as JSON, and its
	// key (epoch:id), stored at most once.
	`ALTER TABLE wpbridge_webhook ADD COLUMN event TEXT;
	ALTER TABLE wpbridge_webhook ADD COLUMN event_key TEXT;
	CREATE UNIQUE INDEX IF NOT EXISTS wpbridge_webhook_event_key ON wpbridge_webhook (event_key);`,
}

// SchemaVersion is the schema version this build creates and upgrades to.
var SchemaVersion = len(sqliteMigrations)

// migrateSQLite creates the tables and upgrades them in place to
// SchemaVersion, in one transaction: two processes opening the same file
// at once (a server and a history command) upgrade it once.
func migrateSQLite(ctx context.Context, db *sql.DB) error {
	var current int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&current); err == nil &&
		current == len(sqliteMigrations) && current > 0 {
		return nil // up to date: no write lock for a reader such as webhooks list
	}
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock): one writer at a time
	if err != nil {
		return fmt.Errorf("begin schema upgrade: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	if _, err := tx.ExecContext(ctx, sqliteSchema); err != nil {
		return fmt.Errorf("create wpbridge tables: %w", err)
	}
	var version int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(sqliteMigrations) {
		return fmt.Errorf("database schema version %d is newer than this wpbridge knows (%d): upgrade wpbridge", version, len(sqliteMigrations))
	}
	for v := version; v < len(sqliteMigrations); v++ {
		if _, err := tx.ExecContext(ctx, sqliteMigrations[v]); err != nil {
			return fmt.Errorf("upgrade schema to version %d: %w", v+1, err)
		}
	}
	if version < len(sqliteMigrations) {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, len(sqliteMigrations))); err != nil {
			return fmt.Errorf("record schema version: %w", err)
		}
	}
	return tx.Commit()
}
