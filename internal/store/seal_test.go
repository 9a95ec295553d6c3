package store

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wpbridge/wpbridge/internal/testing/pgtest"
)

// TestPendingSecretsSealedOnPostgres: with SECRET_KEY, a pending password,
// link and owed-link marker are stored on PostgreSQL as ciphertext (the
// column holds no plaintext) and read back as they were; another key, no
// key, or a value moved to another contact's row fails with an error that
// holds no secret.
func TestPendingSecretsSealedOnPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := pgtest.SchemaURL(t)
	open := func(key string) *DB {
		db, err := OpenPostgres(ctx, u)
		if err != nil {
			t.Fatalf("OpenPostgres: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		if key != "" {
			if err := db.Passwords.SetSecretKey(key); err != nil {
				t.Fatal(err)
			}
		}
		return db
	}
	db := open(strings.Repeat("a", 64))
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	secrets := map[string]string{
		"42":      "Generated-Pass-3141",
		"link:42": "https://site.example/wp-login.php?action=rp&key=SeCrEtKeY123&login=ann",
		"link:43": "", // an owed link: the marker too
	}
	for id, v := range secrets {
		if err := db.Passwords.SavePendingPassword(ctx, id, v); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := db.SQL.QueryContext(ctx, `SELECT contact_id, password FROM wpbridge_pending_password`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var id, stored string
		if err := rows.Scan(&id, &stored); err != nil {
			t.Fatal(err)
		}
		n++
		if !strings.HasPrefix(stored, sealedPrefix) || (secrets[id] != "" && strings.Contains(stored, secrets[id])) ||
			strings.Contains(stored, "SeCrEtKeY123") || strings.Contains(stored, "Generated-Pass") {
			t.Errorf("contact %s: the column holds plaintext or no sealed value (%d chars)", id, len(stored))
		}
	}
	if err := rows.Err(); err != nil || n != len(secrets) {
		t.Fatalf("%d rows (%v), want %d", n, err, len(secrets))
	}
	for id, want := range secrets {
		got, ok, err := db.Passwords.PendingPassword(ctx, id)
		if err != nil || !ok || got != want {
			t.Errorf("contact %s: read back %v %v (same: %v)", id, ok, err, got == want)
		}
	}

	check := func(what string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", what, err, want)
		}
		if err != nil && (strings.Contains(err.Error(), "Generated-Pass") || strings.Contains(err.Error(), "SeCrEtKeY123")) {
			t.Errorf("%s: the error holds the secret", what)
		}
	}
	_, _, err = open(strings.Repeat("b", 64)).Passwords.PendingPassword(ctx, "42")
	check("another key", err, ErrSecretKey)
	_, _, err = open("").Passwords.PendingPassword(ctx, "link:42")
	check("no key", err, ErrNoSecretKey)
	if _, err := db.SQL.ExecContext(ctx, `INSERT INTO wpbridge_pending_password (contact_id, password, created_at)
		SELECT '44', password, created_at FROM wpbridge_pending_password WHERE contact_id = '42'`); err != nil {
		t.Fatal(err)
	}
	_, _, err = db.Passwords.PendingPassword(ctx, "44")
	check("a value moved to another contact", err, ErrSecretKey)
}
