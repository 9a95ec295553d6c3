package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// Open opens the database named by a DATABASE_URL: sqlite:PATH (also
// sqlite:///abs/path) or postgres://... (see OpenSQLite and OpenPostgres).
func Open(ctx context.Context, databaseURL string) (*DB, error) {
	if IsPostgresURL(databaseURL) {
		return OpenPostgres(ctx, databaseURL)
	}
	if path, ok := sqlitePath(databaseURL); ok {
		return OpenSQLite(ctx, path)
	}
	return nil, errors.New("unsupported database URL: want sqlite:PATH or postgres://...")
}

// sqlitePath is the file of a sqlite:PATH URL.
func sqlitePath(databaseURL string) (string, bool) {
	p, ok := strings.CutPrefix(databaseURL, "sqlite:")
	p = strings.TrimPrefix(p, "//")
	return p, ok && p != ""
}

// RiverDriver returns River's driver for the database, working on db.SQL, so
// that River's jobs and wpbridge's rows share *sql.Tx transactions.
func (db *DB) RiverDriver() riverdriver.Driver[*sql.Tx] {
	if db.Backend == PostgreSQL && db.listener != nil {
		return riverdatabasesql.NewWithPgxListener(db.SQL, db.listener)
	}
	if db.Backend == PostgreSQL {
		return riverdatabasesql.New(db.SQL)
	}
	return &wakeDriver{Driver: riversqlite.New(db.SQL), wake: db.wake}
}

// Migrate creates or upgrades the schema, wpbridge's tables and River's, and
// returns once it is current; running it again changes nothing. On
// PostgreSQL each step runs in a transaction under an advisory lock, so that
// several processes may migrate the same database at once. On SQLite,
// OpenSQLite has created wpbridge's tables, and the file lock keeps other
// processes out.
func (db *DB) Migrate(ctx context.Context) error {
	migrator, err := rivermigrate.New(db.RiverDriver(), nil)
	if err != nil {
		return fmt.Errorf("create river migrator: %w", err)
	}
	if db.Backend == PostgreSQL {
		return db.migratePostgres(ctx, func(ctx context.Context, tx *sql.Tx) (int, error) {
			res, err := migrator.MigrateTx(ctx, tx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{MaxSteps: 1})
			if err != nil {
				return 0, fmt.Errorf("migrate river tables: %w", err)
			}
			return len(res.Versions), nil
		})
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate river tables: %w", err)
	}
	return nil
}
