package app_test

import (
	"net/http"
	"testing"

	"github.com/wpbridge/wpbridge/internal/app"
	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/pgtest"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
)

// TestPostgresAdd is the smoke test of DATABASE_URL=postgres://: wpbridge on
// PostgreSQL takes an add webhook, creates the user in the real WordPress
// and writes its password back to AC.
func TestPostgresAdd(t *testing.T) {
	wptest.Env(t)                      // skip before making a schema when WordPress is not running
	databaseURL := pgtest.SchemaURL(t) // dropped after the bridge stops (cleanups run last first)
	b := startBridge(t, map[string]string{"DATABASE_URL": databaseURL}, app.Options{})
	email := wptest.UniqueEmail(t, "pg")
	id := b.addContact(acfake.Contact{Email: email, FirstName: "Pat", LastName: "Gres"})
	r := b.post("/", hook("add", "role", "customer"), contactBody(id, email))
	if r.Code != http.StatusOK || r.Status != "done" || r.UserID == 0 {
		t.Fatalf("add = %d %q %q (user %d), want 200 done with a user", r.Code, r.Status, r.Message, r.UserID)
	}
	t.Cleanup(func() { b.deleteUserByEmail(email) })
	u, err := contactUser(b.Site, b.WP, id, email)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != r.UserID || u.FirstName != "Pat" {
		t.Errorf("user %d %q, want %d Pat", u.ID, u.FirstName, r.UserID)
	}
	writes := b.AC.FieldWrites(id)
	if len(writes) != 1 || writes[0].Field != b.PassID || !b.Site.CheckPassword(t, email, writes[0].Value) {
		t.Errorf("AC field writes = %d, want 1 password that logs the user in", len(writes))
	}
	if rr := b.send(http.MethodGet, "/readyz", nil, "", nil); rr.Code != http.StatusOK {
		t.Errorf("/readyz = %d on PostgreSQL", rr.Code)
	}
}
