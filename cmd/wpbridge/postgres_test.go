package main

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/internal/testing/pgtest"
)

// wpbridge migrate creates the schema and exits; on SQLite, and on
// PostgreSQL with three processes migrating a fresh database at once.
func TestMigrateCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t.Run("sqlite", func(t *testing.T) {
		env := baseEnv(t)
		for range 2 { // again: nothing to do
			if code, _, stderr := runCmd(t, ctx, []string{"migrate"}, env); code != 0 || !strings.Contains(stderr, "database schema is current") {
				t.Fatalf("exit %d:\n%s", code, stderr)
			}
		}
		checkSchema(t, env["DATABASE_URL"])
	})
	t.Run("postgres", func(t *testing.T) {
		env := baseEnv(t)
		env["DATABASE_URL"] = pgtest.SchemaURL(t)
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				if code, _, stderr := runCmd(t, ctx, []string{"migrate"}, env); code != 0 {
					t.Errorf("exit %d:\n%s", code, stderr)
				}
			})
		}
		wg.Wait()
		checkSchema(t, env["DATABASE_URL"])
	})
}

// checkSchema checks that wpbridge's tables and River's exist, all of
// River's migrations applied.
func checkSchema(t *testing.T, databaseURL string) {
	t.Helper()
	db, err := store.Open(context.Background(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`SELECT count(*) FROM wpbridge_webhook`, `SELECT count(*) FROM wpbridge_pending_password`,
		`SELECT count(*) FROM wpbridge_ac_write`, `SELECT count(*) FROM river_job`,
	} {
		var n int
		if err := db.SQL.QueryRow(q).Scan(&n); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
	var versions sql.NullInt64
	if err := db.SQL.QueryRow(`SELECT count(DISTINCT version) FROM river_migration`).Scan(&versions); err != nil || versions.Int64 < 6 {
		t.Errorf("river_migration: %d versions, %v", versions.Int64, err)
	}
}

// An unreachable PostgreSQL stops serve and migrate with an error that names
// DATABASE_URL, its password redacted.
func TestPostgresUnreachable(t *testing.T) {
	const password = "pg-SECRET-pw"
	env := baseEnv(t)
	env["DATABASE_URL"] = "postgres://wpb:" + password + "@127.0.0.1:1/wpbridge?sslmode=disable&connect_timeout=2"
	env["LISTEN_ADDR"] = "127.0.0.1:0"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, cmd := range []string{"serve", "migrate"} {
		code, _, stderr := runCmd(t, ctx, []string{cmd}, env)
		if strings.Contains(stderr, password) {
			t.Fatalf("%s: the output holds the database password", cmd)
		}
		if code != 1 || !strings.Contains(stderr, "DATABASE_URL postgres://wpb:xxxxx@127.0.0.1:1/wpbridge") ||
			!strings.Contains(stderr, "cannot reach the database") {
			t.Errorf("%s: exit %d, stderr:\n%s", cmd, code, stderr)
		}
	}
}
