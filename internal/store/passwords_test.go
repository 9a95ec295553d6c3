package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wpbridge/wpbridge/internal/testing/wait"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

func TestPasswords(t *testing.T) { eachBackend(t, testPasswords) }

func testPasswords(t *testing.T, db *DB) {
	ctx := context.Background()
	p := db.Passwords
	if _, ok, err := p.PendingPassword(ctx, "42"); ok || err != nil {
		t.Fatalf("PendingPassword of nothing = %v, %v", ok, err)
	}
	if err := p.SavePendingPassword(ctx, "42", "first"); err != nil {
		t.Fatal(err)
	}
	if err := p.SavePendingPassword(ctx, "42", "second"); err != nil {
		t.Fatal(err)
	}
	if pw, ok, err := p.PendingPassword(ctx, "42"); !ok || err != nil || pw != "second" {
		t.Errorf("PendingPassword = ok %v err %v (password matches: %v)", ok, err, pw == "second")
	}
	if err := p.DeletePendingPassword(ctx, "42"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := p.PendingPassword(ctx, "42"); ok || err != nil {
		t.Errorf("PendingPassword after delete = %v, %v", ok, err)
	}

	// DeleteUnneeded keeps the passwords of contacts with pending webhooks
	// only.
	if err := p.SavePendingPassword(ctx, "7", "kept"); err != nil {
		t.Fatal(err)
	}
	if err := p.SavePendingPassword(ctx, "8", "dropped"); err != nil {
		t.Fatal(err)
	}
	insert(t, db, req("7"))
	if err := p.DeleteUnneeded(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := p.PendingPassword(ctx, "7"); !ok {
		t.Error("the password of a contact with a pending webhook was deleted")
	}
	if _, ok, _ := p.PendingPassword(ctx, "8"); ok {
		t.Error("the password of a contact without pending webhooks was kept")
	}
	// A set-password link, kept under link:ID, goes with its contact's
	// webhooks the same way.
	for _, id := range []string{"link:7", "link:8"} {
		if err := p.SavePendingPassword(ctx, id, "https://site.example/wp-login.php?action=rp&key=k"); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.DeleteUnneeded(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := p.PendingPassword(ctx, "link:7"); !ok {
		t.Error("the link of a contact with a pending webhook was deleted")
	}
	if _, ok, _ := p.PendingPassword(ctx, "link:8"); ok {
		t.Error("the link of a contact without pending webhooks was kept")
	}

	// Errors name the contact, not the password.
	db.Close()
	err := p.SavePendingPassword(ctx, "42", "s3cret")
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "42") {
		t.Errorf("SavePendingPassword on a closed database = %v", err)
	}
}

// TestPasswordsDroppedWhenFinished: a pending password goes as soon as its
// contact has no pending webhook left: when the round that covers them
// finishes (done or failed for good) or the last one is failed. A webhook
// still pending (another round to come) keeps it.
func TestPasswordsDroppedWhenFinished(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	p := db.Passwords
	has := func(contactID string) bool {
		t.Helper()
		_, ok, err := p.PendingPassword(ctx, contactID)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	save := func(contactID string) {
		t.Helper()
		if err := p.SavePendingPassword(ctx, contactID, "pw-"+contactID); err != nil {
			t.Fatal(err)
		}
	}

	ids := insert(t, db, req("42"), req("42"))
	save("42")
	if err := db.Webhooks.Finish(ctx, []webhook.Outcome{{WebhookID: ids[0], State: webhook.StateFailed, Message: "contact has no email"}}); err != nil {
		t.Fatal(err)
	}
	if !has("42") {
		t.Fatal("dropped while a webhook of the contact is still pending")
	}
	if err := db.Webhooks.Finish(ctx, []webhook.Outcome{{WebhookID: ids[1], State: webhook.StateFailed, Message: "contact has no email"}}); err != nil {
		t.Fatal(err)
	}
	if has("42") {
		t.Error("kept after the contact's add failed for good")
	}

	id := insert(t, db, req("43"))[0]
	save("43")
	if _, err := db.Webhooks.Claim(ctx, "43", 1); err != nil {
		t.Fatal(err)
	}
	if err := db.Webhooks.Fail(ctx, id, "bookkeeping failed"); err != nil {
		t.Fatal(err)
	}
	if has("43") {
		t.Error("kept after Fail finished the contact's last webhook")
	}
}

// TestPasswordErased: a deleted password is gone from the bytes of the
// database files (secure_delete, and the write-ahead log truncated), also
// after a checkpoint copies the log into the database file. Erasing is
// coalesced: the second of two passwords deleted back to back, inside one
// eraseInterval, is erased by the erase owed after it.
func TestPasswordErased(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wpbridge.db")
	db, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	contains := func(pw string) []string {
		t.Helper()
		var in []string
		for _, name := range []string{path, path + "-wal", path + "-shm"} {
			b, err := os.ReadFile(name)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte(pw)) {
				in = append(in, filepath.Base(name))
			}
		}
		return in
	}
	for _, c := range []string{"41", "42", "43"} { // neighbours on the same page
		if err := db.Passwords.SavePendingPassword(ctx, c, "Zq7uXw3P"+c); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ contact, pw string }{{"44", "Zq7uXw3PlK9mRt2B"}, {"45", "Hn4eVb8QsW1yTc6D"}} {
		if err := db.Passwords.SavePendingPassword(ctx, tc.contact, tc.pw); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL.Exec(`PRAGMA wal_checkpoint(PASSIVE)`); err != nil { // in both files now
			t.Fatal(err)
		}
		if len(contains(tc.pw)) == 0 {
			t.Fatal("the stored password is not in the files: the test cannot see erasure")
		}
		if err := db.Passwords.DeletePendingPassword(ctx, tc.contact); err != nil {
			t.Fatal(err)
		}
		wait.For(t, 10*checkpointInterval, "the deleted password to be erased from the files", func() (bool, string) {
			in := contains(tc.pw)
			return len(in) == 0, fmt.Sprintf("contact %s's still readable in %v", tc.contact, in)
		})
		if _, err := db.SQL.Exec(`PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
			t.Fatal(err)
		}
		if in := contains(tc.pw); len(in) > 0 {
			t.Errorf("contact %s's deleted password readable in %v after a checkpoint", tc.contact, in)
		}
	}
	if _, ok, err := db.Passwords.PendingPassword(ctx, "43"); !ok || err != nil {
		t.Errorf("a neighbour's password was lost: %v, %v", ok, err)
	}
}

// TestLogCheckpointedInBackground: with SQLite's automatic checkpoint off,
// the checkpointer copies the log into the database, so the log starts over
// instead of growing with everything ever written.
func TestLogCheckpointedInBackground(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wpbridge.db")
	db, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	value := strings.Repeat("x", 16<<10)
	written := 0
	for i := 0; ; i++ {
		if err := db.Passwords.SavePendingPassword(ctx, fmt.Sprint(i), value); err != nil {
			t.Fatal(err)
		}
		written += len(value)
		st, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		if written > 4*int(st.Size()) && written > 8<<20 {
			return // the log started over at least once, and is a fraction of what was written
		}
		if i > 20000 {
			t.Fatalf("the log holds %d bytes after %d were written: never checkpointed", st.Size(), written)
		}
	}
}
