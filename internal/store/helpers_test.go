package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/wpbridge/wpbridge/internal/testing/pgtest"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

// eachBackend runs test once on each backend, as subtests named after them:
// on a fresh SQLite file, and on PostgreSQL in a schema of its own (skipped,
// with one line saying how to run it, when the test PostgreSQL is not
// running; failed when WPBRIDGE_REQUIRE_PG=1).
func eachBackend(t *testing.T, test func(t *testing.T, db *DB)) {
	t.Run(string(SQLite), func(t *testing.T) { test(t, openTemp(t)) })
	t.Run(string(PostgreSQL), func(t *testing.T) { test(t, openPostgres(t)) })
}

// openPostgres opens and migrates a fresh schema of the test PostgreSQL,
// closed at the end of the test.
func openPostgres(t *testing.T) *DB {
	t.Helper()
	u := pgtest.SchemaURL(t)
	db, err := OpenPostgres(context.Background(), u)
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return db
}

// openTemp opens a database in a fresh temporary directory, closed at the
// end of the test.
func openTemp(t *testing.T) *DB {
	t.Helper()
	db, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "wpbridge.db"))
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// inTx runs f in a transaction and commits it.
func inTx(t *testing.T, db *DB, f func(tx *sql.Tx) error) {
	t.Helper()
	tx, err := db.SQL.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	if err := f(tx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// insert stores webhooks for requests and returns their ids.
func insert(t *testing.T, db *DB, reqs ...webhook.Request) []int64 {
	t.Helper()
	var ids []int64
	inTx(t, db, func(tx *sql.Tx) error {
		for _, r := range reqs {
			id, err := db.Webhooks.Insert(context.Background(), tx, &webhook.Webhook{Request: r})
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	return ids
}

func outcome(t *testing.T, db *DB, id int64) webhook.Outcome {
	t.Helper()
	o, err := db.Webhooks.Outcome(context.Background(), id)
	if err != nil {
		t.Fatalf("webhook.Outcome(%d): %v", id, err)
	}
	return o
}
