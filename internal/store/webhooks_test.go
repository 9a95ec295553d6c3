package store

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

func req(contactID string) webhook.Request {
	return webhook.Request{ContactID: contactID, Action: contactsync.ActionUpdate}
}

func TestWebhooksInsert(t *testing.T) { eachBackend(t, testWebhooksInsert) }

func testWebhooksInsert(t *testing.T, db *DB) {
	w := webhook.Webhook{
		ReceivedAt: time.Now(),
		Request: webhook.Request{
			ContactID: "42", Action: contactsync.ActionAdd, Role: "customer", SendNotification: true,
			Tags: []string{"a", "b"}, HasTags: true, EmailHint: "x@example.com",
		},
		EventType: "subscribe", InitiatedFrom: "admin",
	}
	var id int64
	inTx(t, db, func(tx *sql.Tx) (err error) {
		id, err = db.Webhooks.Insert(context.Background(), tx, &w)
		return err
	})
	if o := outcome(t, db, id); o != (webhook.Outcome{WebhookID: id, State: webhook.StatePending}) || o.Final() {
		t.Errorf("webhook.Outcome = %+v, want pending", o)
	}
	var contact, action, role, tags, email, event, from string
	var notify bool
	err := db.SQL.QueryRow(db.Rebind(`SELECT contact_id, action, role, send_notification, tags, email_hint, event_type, initiated_from
		FROM wpbridge_webhook WHERE id = ?`), id).Scan(&contact, &action, &role, &notify, &tags, &email, &event, &from)
	if err != nil {
		t.Fatal(err)
	}
	if contact != "42" || action != "add" || role != "customer" || !notify || tags != `["a","b"]` ||
		email != "x@example.com" || event != "subscribe" || from != "admin" {
		t.Errorf("stored row = %q %q %q %v %q %q %q %q", contact, action, role, notify, tags, email, event, from)
	}
	if ids := insert(t, db, req("43")); ids[0] <= id {
		t.Errorf("next id %d after %d", ids[0], id)
	}
	if _, err := db.Webhooks.Outcome(context.Background(), 99999); err == nil {
		t.Error("webhook.Outcome of an unknown webhook: no error")
	}
}

func TestWebhooksClaim(t *testing.T) { eachBackend(t, testWebhooksClaim) }

func testWebhooksClaim(t *testing.T, db *DB) {
	ctx := context.Background()
	tagged := webhook.Request{ContactID: "42", Action: contactsync.ActionUpdateTags, Tags: []string{"t"}, HasTags: true}
	add := webhook.Request{ContactID: "42", Action: contactsync.ActionAdd, Role: "r"}
	ids := insert(t, db, tagged, req("7"), add)
	mine := []int64{ids[0], ids[2]}

	c, err := db.Webhooks.Claim(ctx, "42", 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.IDs, mine) {
		t.Fatalf("claimed %v, want %v (the contact's, in order)", c.IDs, mine)
	}
	if want := tagged.Merge(add); c.Request.Action != want.Action || c.Request.Role != want.Role ||
		c.Request.HasTags != want.HasTags || c.Request.ContactID != "42" {
		t.Errorf("merged request %+v, want %+v", c.Request, want)
	}
	if o := outcome(t, db, ids[0]); o.State != webhook.StatePending {
		t.Errorf("a claimed webhook reads %q, want pending", o.State)
	}
	// A round that died left them claimed: the next round takes them again.
	if c, err := db.Webhooks.Claim(ctx, "42", 2); err != nil || !slices.Equal(c.IDs, mine) {
		t.Errorf("claim again = %v, %v", c, err)
	}
	if n, err := db.Webhooks.Unfinished(ctx); err != nil || n != 3 {
		t.Errorf("Unfinished = %d, %v; want 3", n, err)
	}

	// Finished webhooks are claimed no more; released ones are.
	if err := db.Webhooks.Finish(ctx, []webhook.Outcome{{WebhookID: ids[0], State: webhook.StateDone, Message: "ok", UserID: 5}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Webhooks.Release(ctx, []int64{ids[2]}); err != nil {
		t.Fatal(err)
	}
	var state string
	if err := db.SQL.QueryRow(db.Rebind(`SELECT state FROM wpbridge_webhook WHERE id = ?`), ids[2]).Scan(&state); err != nil || state != webhook.StatePending {
		t.Errorf("released webhook is %q, %v", state, err)
	}
	if c, err := db.Webhooks.Claim(ctx, "42", 3); err != nil || !slices.Equal(c.IDs, ids[2:]) {
		t.Errorf("claim after finish = %v, %v", c, err)
	}
	if c, err := db.Webhooks.Claim(ctx, "99", 4); err != nil || len(c.IDs) != 0 {
		t.Errorf("claim of a contact with nothing pending = %v, %v", c, err)
	}
	if o := outcome(t, db, ids[0]); o != (webhook.Outcome{WebhookID: ids[0], State: webhook.StateDone, Message: "ok", UserID: 5}) || !o.Final() {
		t.Errorf("finished webhook = %+v", o)
	}
}

func TestWebhooksClaimBadTags(t *testing.T) { eachBackend(t, testWebhooksClaimBadTags) }

func testWebhooksClaimBadTags(t *testing.T, db *DB) {
	ids := insert(t, db, webhook.Request{ContactID: "42", Action: contactsync.ActionAdd, HasTags: true})
	if _, err := db.SQL.Exec(db.Rebind(`UPDATE wpbridge_webhook SET tags = 'not json' WHERE id = ?`), ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Webhooks.Claim(context.Background(), "42", 1); err == nil || !strings.Contains(err.Error(), "decode tags") {
		t.Errorf("Claim = %v, want a decode error", err)
	}
	if o := outcome(t, db, ids[0]); o.State != webhook.StatePending {
		t.Errorf("webhook after a failed claim = %+v", o)
	}
}

func TestWebhooksFailAndDeleteFinished(t *testing.T) {
	eachBackend(t, testWebhooksFailAndDeleteFinished)
}

func testWebhooksFailAndDeleteFinished(t *testing.T, db *DB) {
	ctx := context.Background()
	ids := insert(t, db, req("1"), req("2"), req("3"))
	if err := db.Webhooks.Finish(ctx, []webhook.Outcome{{WebhookID: ids[0], State: webhook.StateIgnored, Message: "echo"}}); err != nil {
		t.Fatal(err)
	}
	// Fail fails what is unfinished and leaves a finished webhook alone.
	for _, id := range ids[:2] {
		if err := db.Webhooks.Fail(ctx, id, "broken"); err != nil {
			t.Fatal(err)
		}
	}
	if o := outcome(t, db, ids[0]); o.State != webhook.StateIgnored || o.Message != "echo" {
		t.Errorf("finished webhook after Fail = %+v", o)
	}
	if o := outcome(t, db, ids[1]); o.State != webhook.StateFailed || o.Message != "broken" {
		t.Errorf("unfinished webhook after Fail = %+v", o)
	}

	// DeleteFinished deletes what finished before its time, never the unfinished.
	if err := db.Webhooks.DeleteFinished(ctx, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	outcome(t, db, ids[0])
	if err := db.Webhooks.DeleteFinished(ctx, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids[:2] {
		if _, err := db.Webhooks.Outcome(ctx, id); err == nil {
			t.Errorf("webhook %d kept after DeleteFinished", id)
		}
	}
	if o := outcome(t, db, ids[2]); o.State != webhook.StatePending {
		t.Errorf("unfinished webhook after DeleteFinished = %+v", o)
	}
}

// TestWebhooksClaimMany: a contact with more pending webhooks than SQLite
// takes variables in one statement (32,766) is claimed in chunks: all of
// them, in order, merged into one request; releasing them works too.
func TestWebhooksClaimMany(t *testing.T) {
	if raceEnabled {
		t.Skip("minutes under the race detector, and single-goroutine: run without -race")
	}
	db := openTemp(t)
	ctx := context.Background()
	const n = 40_000
	inTx(t, db, func(tx *sql.Tx) error {
		_, err := tx.Exec(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
			INSERT INTO wpbridge_webhook (received_at, contact_id, action)
			SELECT ?, '42', CASE WHEN i = 20000 THEN 'add' ELSE 'update_tags' END FROM seq`, n, timeText(time.Now()))
		return err
	})
	other := insert(t, db, req("7"))[0]

	c, err := db.Webhooks.Claim(ctx, "42", 1)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	if len(c.IDs) != n || !slices.IsSorted(c.IDs) || c.Request.Action != contactsync.ActionAdd {
		t.Fatalf("claimed %d webhooks (sorted %v), request %+v; want %d merged into an add", len(c.IDs), slices.IsSorted(c.IDs), c.Request.Action, n)
	}
	count := func(state string) int {
		t.Helper()
		var k int
		if err := db.SQL.QueryRow(`SELECT count(*) FROM wpbridge_webhook WHERE contact_id = '42' AND state = ?`, state).Scan(&k); err != nil {
			t.Fatal(err)
		}
		return k
	}
	if got := count(stateClaimed); got != n {
		t.Errorf("%d rows claimed, want %d", got, n)
	}
	if o := outcome(t, db, other); o.State != webhook.StatePending {
		t.Errorf("another contact's webhook: %+v", o)
	}
	if err := db.Webhooks.Release(ctx, c.IDs); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if got := count(webhook.StatePending); got != n {
		t.Errorf("%d rows pending after release, want %d", got, n)
	}
}
