package store

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/wpbridge/wpbridge/internal/webhook"
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
	pragmas := map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "10000", "secure_delete": "1", "wal_autocheckpoint": "0"}
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
	if o := outcome(t, db3, ids[0]); o.State != webhook.StatePending {
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

// TestOpenSQLitePermissions: whatever the umask, the database, its -wal and
// -shm files and the lock are created readable by their owner only; files
// left wider by an older version are tightened and reported.
func TestOpenSQLitePermissions(t *testing.T) {
	old := syscall.Umask(0) // the most permissive umask; restored below
	defer syscall.Umask(old)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "wpbridge.db")
	modes := func() map[string]fs.FileMode {
		t.Helper()
		m := map[string]fs.FileMode{}
		for _, name := range []string{path, path + "-wal", path + "-shm", path + ".lock"} {
			st, err := os.Stat(name)
			if err != nil {
				t.Fatalf("%s: %v", filepath.Base(name), err)
			}
			m[filepath.Base(name)] = st.Mode().Perm()
		}
		return m
	}
	db, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	insert(t, db, req("42")) // the log and its index exist now
	for name, mode := range modes() {
		if mode != 0o600 {
			t.Errorf("%s created with mode %o, want 600", name, mode)
		}
	}
	if len(db.Tightened) != 0 {
		t.Errorf("Tightened = %v on a new database", db.Tightened)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{path, path + ".lock"} {
		if err := os.Chmod(name, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db, err = OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	insert(t, db, req("42"))
	for name, mode := range modes() {
		if mode != 0o600 {
			t.Errorf("%s has mode %o after reopening, want 600", name, mode)
		}
	}
	if want := []string{path, path + ".lock"}; !slices.Equal(db.Tightened, want) {
		t.Errorf("Tightened = %v, want %v", db.Tightened, want)
	}
}
