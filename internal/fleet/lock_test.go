package fleet

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/internal/testing/pgtest"
)

// openSQLite opens a fresh SQLite database.
func openSQLite(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// LockContact is held database-wide on PostgreSQL, and released by unlock or
// by the holder's end; on SQLite there is nothing to take.
func TestLockContact(t *testing.T) {
	ctx := context.Background()
	sqlite := New(openSQLite(t), logrus.New())
	for range 2 {
		unlock, ok, err := sqlite.LockContact(ctx, "42")
		if err != nil || !ok {
			t.Fatalf("SQLite LockContact = %v, %v", ok, err)
		}
		defer unlock()
	}

	u := pgtest.SchemaURL(t)
	open := func() Fleet {
		db, err := store.OpenPostgres(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return New(db, logrus.New())
	}
	a, b := open(), open()
	try := func(db Fleet, contact string) (func(), bool) {
		t.Helper()
		unlock, ok, err := db.LockContact(ctx, contact)
		if err != nil {
			t.Fatal(err)
		}
		return unlock, ok
	}
	unlockA, ok := try(a, "42")
	if !ok {
		t.Fatal("first lock of contact 42 refused")
	}
	if _, ok := try(b, "42"); ok {
		t.Error("a second process took contact 42 while it was held")
	}
	if _, ok := try(a, "42"); ok {
		t.Error("a second round of the same process took contact 42 while it was held")
	}
	unlock7, ok := try(b, "7")
	if !ok {
		t.Error("contact 7 refused while only 42 was held")
	}
	unlock7()
	unlockA()
	unlockB, ok := try(b, "42")
	if !ok {
		t.Fatal("contact 42 refused after unlock")
	}
	// The end of the holder's session (a killed process) releases its lock.
	var pid int
	if err := a.(*postgres).db.SQL.QueryRow(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2
		AND classid::bigint = $1 AND objid::bigint = (hashtext('42')::bigint & 4294967295) AND granted`,
		int64(uint32(contactClass))).Scan(&pid); err != nil {
		t.Fatalf("find the holder of contact 42's lock: %v", err)
	}
	if _, err := a.(*postgres).db.SQL.Exec(`SELECT pg_terminate_backend($1, 10000)`, pid); err != nil {
		t.Fatal(err)
	}
	if unlock, ok := try(a, "42"); !ok {
		t.Error("contact 42 refused after its holder's session ended")
	} else {
		unlock()
	}
	unlockB() // on a dead connection: discards it, no panic
}
