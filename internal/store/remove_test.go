package store

import (
	"context"
	"testing"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

// TestRemoveAccessStored: remove_access's delete and reassign options are
// stored, read back in the history, and merged into a round's request.
func TestRemoveAccessStored(t *testing.T) { eachBackend(t, testRemoveAccessStored) }

func testRemoveAccessStored(t *testing.T, db *DB) {
	ids := insert(t, db,
		webhook.Request{ContactID: "42", Action: contactsync.ActionAdd},
		webhook.Request{ContactID: "42", Action: contactsync.ActionRemoveAccess, Delete: true, Reassign: "heir@example.com"})
	if r := get(t, db, ids[1]); !r.Request.Delete || r.Request.Reassign != "heir@example.com" {
		t.Errorf("stored request = %+v, want delete with reassign", r.Request)
	}
	if r := get(t, db, ids[0]); r.Request.Delete || r.Request.Reassign != "" {
		t.Errorf("add stored with remove options: %+v", r.Request)
	}
	c, err := db.Webhooks.Claim(context.Background(), "42", ids[1])
	if err != nil {
		t.Fatal(err)
	}
	if c.Request.Action != contactsync.ActionRemoveAccess || !c.Request.Delete || c.Request.Reassign != "heir@example.com" {
		t.Errorf("claimed request = %+v, want the later remove_access with its options", c.Request)
	}
}
