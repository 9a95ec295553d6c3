package store

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

func TestEchoes(t *testing.T) { eachBackend(t, testEchoes) }

func testEchoes(t *testing.T, db *DB) {
	ctx := context.Background()
	e := db.Echoes
	if e.Window != DefaultEchoWindow {
		t.Errorf("Window = %s, want the default", e.Window)
	}
	take := func(contactID string) bool {
		t.Helper()
		var echo bool
		inTx(t, db, func(tx *sql.Tx) (err error) {
			echo, err = e.TakeTx(ctx, tx, contactID)
			return err
		})
		return echo
	}
	record := func(contactID string) {
		t.Helper()
		if err := e.Record(ctx, contactID); err != nil {
			t.Fatal(err)
		}
	}
	age := func(contactID string, d time.Duration) {
		t.Helper()
		if _, err := db.SQL.Exec(db.Rebind(`UPDATE wpbridge_ac_write SET written_at = ? WHERE contact_id = ?`),
			timeText(time.Now().Add(-d)), contactID); err != nil {
			t.Fatal(err)
		}
	}

	if take("42") {
		t.Error("an echo without a recorded write")
	}
	record("42")
	record("42") // a second write before the echo: still one record
	if take("7") {
		t.Error("another contact's write made an echo")
	}
	if !take("42") {
		t.Error("the echo of a recorded write was not taken")
	}
	if take("42") {
		t.Error("one record excused two echoes")
	}

	// A record older than the window is no longer an echo, and is deleted.
	record("42")
	age("42", DefaultEchoWindow+time.Minute)
	record("43")
	if err := e.DeleteExpired(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.SQL.QueryRow(`SELECT count(*) FROM wpbridge_ac_write WHERE contact_id = '42'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("expired record: %d left, %v", n, err)
	}
	if !take("43") {
		t.Error("DeleteExpired deleted a fresh record")
	}
	record("42")
	age("42", DefaultEchoWindow+time.Minute)
	if take("42") {
		t.Error("a record older than the window made an echo")
	}
}

// TestEchoWrite: a write in flight is an echo already (the echo can come
// before the write's answer); confirmed it stays one, cancelled it leaves
// the table as it was; an echo taken in flight is not recorded again.
func TestEchoWrite(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	e := db.Echoes
	take := func(contactID string) bool {
		t.Helper()
		var echo bool
		inTx(t, db, func(tx *sql.Tx) (err error) {
			echo, err = e.TakeTx(ctx, tx, contactID)
			return err
		})
		return echo
	}
	begin := func(contactID string) *EchoWrite {
		t.Helper()
		w, err := e.Begin(ctx, contactID)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	settle := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	settle(begin("1").Cancel(ctx))
	if take("1") {
		t.Error("a cancelled write left an echo record")
	}
	settle(begin("2").Confirm(ctx))
	if !take("2") {
		t.Error("a confirmed write has no echo record")
	}
	w := begin("3")
	if !take("3") {
		t.Error("an echo arriving while the write is in flight was not recognised")
	}
	settle(w.Confirm(ctx))
	if take("3") {
		t.Error("confirming a write whose echo already came recorded it again")
	}
	settle(e.Record(ctx, "4")) // an earlier write, its echo not come yet
	settle(begin("4").Cancel(ctx))
	if !take("4") {
		t.Error("cancelling a write erased the record of an earlier one")
	}
	w = begin("5")
	take("5")
	settle(w.Cancel(ctx)) // nothing left to cancel: no error, nothing recorded
	if take("5") {
		t.Error("an echo record appeared after cancelling")
	}
}
