package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenSQLite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "dir", "wpbridge.db") // directories are created
	db, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if db.Backend != SQLite {
		t.Errorf("Backend = %q", db.Backend)
	}
	pragmas := map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "10000"}
	for name, want := range pragmas {
		var got string
		if err := db.SQL.QueryRow(`PRAGMA ` + name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", name, got, want)
		}
	}
	for _, table := range []string{"wpbridge_webhook", "wpbridge_pending_password", "wpbridge_ac_write"} {
		var n int
		if err := db.SQL.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}

	// A second opener of the same file is refused, with a clear reason.
	db2, err := OpenSQLite(ctx, path)
	if err == nil {
		db2.Close()
		t.Fatal("second OpenSQLite of the same file succeeded")
	}
	if !strings.Contains(err.Error(), "in use by another wpbridge process") || !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not say the database is in use", err)
	}

	// Once closed, the file can be opened again, its tables kept.
	ids := insert(t, db, req("42"))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db3, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("reopen after close: %v", err)
	}
	if o := outcome(t, db3, ids[0]); o.State != StatePending {
		t.Errorf("webhook after reopening = %+v", o)
	}
	if err := db3.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenSQLiteBadPath(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	db, err := OpenSQLite(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	// A path below a regular file cannot be created.
	if _, err := OpenSQLite(context.Background(), filepath.Join(file, "x.db")); err == nil {
		t.Error("OpenSQLite below a file: no error")
	}
}
