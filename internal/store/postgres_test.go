package store

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/riverqueue/river/rivermigrate"

	"github.com/wpbridge/wpbridge/internal/testing/pgtest"
)

func TestRebindDollar(t *testing.T) {
	tests := map[string]string{
		"SELECT 1":                           "SELECT 1",
		"WHERE a = ?":                        "WHERE a = $1",
		"VALUES (?, ?, ?) RETURNING id":      "VALUES ($1, $2, $3) RETURNING id",
		"IN (?,?,?,?,?,?,?,?,?,?) AND b = ?": "IN ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) AND b = $11",
	}
	for in, want := range tests {
		if got := rebindDollar(in); got != want {
			t.Errorf("rebindDollar(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOpenDispatch(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	for _, u := range []string{"sqlite:" + path, "sqlite://" + path} {
		db, err := Open(ctx, u)
		if err != nil {
			t.Fatalf("Open(%s): %v", u, err)
		}
		if db.Backend != SQLite {
			t.Errorf("Open(%s).Backend = %q", u, db.Backend)
		}
		db.Close()
	}
	for _, u := range []string{"mysql://x", "sqlite:", ""} {
		if db, err := Open(ctx, u); err == nil {
			db.Close()
			t.Errorf("Open(%q): no error", u)
		}
	}
}

// An unreachable database is an error at open, which never holds the password.
func TestOpenPostgresUnreachable(t *testing.T) {
	const password = "pg-SECRET-pw"
	for _, u := range []string{
		"postgres://wpb:" + password + "@127.0.0.1:1/db?sslmode=disable&connect_timeout=2",
		"postgres://wpb:" + password + "@127.0.0.1:1/db?pool_max_conns=zero",
	} {
		db, err := Open(context.Background(), u)
		if err == nil {
			db.Close()
			t.Fatalf("Open of %s succeeded", pgtest.Redacted(u))
		}
		if strings.Contains(err.Error(), password) {
			t.Errorf("error holds the password: %s", strings.ReplaceAll(err.Error(), password, "xxxxx"))
		}
	}
}

func TestOpenPostgres(t *testing.T) {
	ctx := context.Background()
	base := pgtest.SchemaURL(t)
	for _, tc := range []struct {
		param string
		want  int
	}{{"", DefaultPoolSize}, {"pool_max_conns=3", 3}} {
		u := base
		if tc.param != "" {
			u += "&" + tc.param
		}
		db, err := Open(ctx, u)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if db.Backend != PostgreSQL {
			t.Errorf("Backend = %q", db.Backend)
		}
		if got := db.SQL.Stats().MaxOpenConnections; got != tc.want {
			t.Errorf("with %q: pool of %d connections, want %d", tc.param, got, tc.want)
		}
		if err := db.Ping(ctx); err != nil {
			t.Errorf("Ping: %v", err)
		}
		db.Close()
	}
}

// Processes starting together migrate the same fresh database at once: all
// succeed, and the schema is whole, each migration applied once.
func TestMigrateRace(t *testing.T) {
	ctx := context.Background()
	u := pgtest.SchemaURL(t)
	const n = 3
	dbs := make([]*DB, n)
	for i := range dbs {
		db, err := OpenPostgres(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, db := range dbs {
		wg.Go(func() { errs[i] = db.Migrate(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("migration %d: %v", i, err)
		}
	}
	db := dbs[0]
	m, err := rivermigrate.New(db.RiverDriver(), nil)
	if err != nil {
		t.Fatal(err)
	}
	all := m.AllVersions()
	var rows, maxVersion int
	if err := db.SQL.QueryRow(`SELECT count(*), max(version) FROM river_migration`).Scan(&rows, &maxVersion); err != nil {
		t.Fatal(err)
	}
	if rows != len(all) || maxVersion != all[len(all)-1].Version {
		t.Errorf("river_migration: %d rows up to version %d, want %d up to %d", rows, maxVersion, len(all), all[len(all)-1].Version)
	}
	for _, table := range []string{"wpbridge_webhook", "wpbridge_pending_password", "wpbridge_ac_write", "river_job"} {
		var n int
		if err := db.SQL.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
	// Once current, migrating again applies nothing and fails nothing.
	if err := dbs[1].Migrate(ctx); err != nil {
		t.Errorf("second migration: %v", err)
	}
}
