package store

import (
	"context"
	"database/sql"
	"slices"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/webhook"
)

// A WordPress outbox event is stored once by its key; a claim covers the
// first webhooks of one kind only (AC's, or WordPress events), and merges
// WordPress events into the latest, a sign-up among them kept.
func TestWebhooksEvents(t *testing.T) { eachBackend(t, testWebhooksEvents) }

func testWebhooksEvents(t *testing.T, db *DB) {
	ctx := context.Background()
	ev := func(key string, register bool, body string) webhook.Webhook {
		return webhook.Webhook{ReceivedAt: time.Now(), Source: webhook.SourceWordPress, EventKey: key,
			Request: webhook.Request{ContactID: "wp-user:7", Action: webhook.ActionWordPressSync, Event: []byte(body), Register: register}}
	}
	store := func(ws ...webhook.Webhook) []int64 {
		var ids []int64
		inTx(t, db, func(tx *sql.Tx) error {
			for _, w := range ws {
				id, err := db.Webhooks.Insert(ctx, tx, &w)
				if err != nil {
					return err
				}
				ids = append(ids, id)
			}
			return nil
		})
		return ids
	}
	first := store(ev("e1:1", true, `{"n":1}`), ev("e1:2", false, `{"n":2}`))
	again := store(ev("e1:1", true, `{"n":1}`))
	if first[0] == 0 || first[1] == 0 || again[0] != 0 {
		t.Fatalf("ids = %v then %v; want the same key stored once", first, again)
	}
	ac := store(webhook.Webhook{ReceivedAt: time.Now(), Request: webhook.Request{ContactID: "wp-user:7", Action: webhook.ActionUpdate}})
	last := store(ev("e1:3", false, `{"n":3}`))

	c, err := db.Webhooks.Claim(ctx, "wp-user:7", 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.IDs, first) || c.Request.Action != webhook.ActionWordPressSync || !c.Request.Register || string(c.Request.Event) != `{"n":2}` {
		t.Fatalf("first claim = %v %+v", c.IDs, c.Request)
	}
	if err := db.Webhooks.Finish(ctx, []webhook.Outcome{{WebhookID: first[0], State: webhook.StateDone}, {WebhookID: first[1], State: webhook.StateDone}}); err != nil {
		t.Fatal(err)
	}
	c, err = db.Webhooks.Claim(ctx, "wp-user:7", 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.IDs, ac) || c.Request.Action != webhook.ActionUpdate {
		t.Fatalf("second claim = %v %+v; want the AC webhook alone", c.IDs, c.Request)
	}
	if err := db.Webhooks.Finish(ctx, []webhook.Outcome{{WebhookID: ac[0], State: webhook.StateDone}}); err != nil {
		t.Fatal(err)
	}
	c, err = db.Webhooks.Claim(ctx, "wp-user:7", 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.IDs, last) || c.Request.Register || string(c.Request.Event) != `{"n":3}` {
		t.Fatalf("third claim = %v %+v", c.IDs, c.Request)
	}
}
