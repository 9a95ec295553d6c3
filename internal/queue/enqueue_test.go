package queue

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

// TestEnqueue: webhooks stored in bulk by another process (a shared handle,
// as wpbridge import uses while serve runs) and by the owner's own handle
// are stored with their source and parameters and worked by the running
// queue.
func TestEnqueue(t *testing.T) {
	ctx := context.Background()
	e := startEnv(t, nil, classify, fastOptions())
	sh, err := store.OpenSQLiteShared(ctx, e.path)
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	var ws []webhook.Webhook
	for i := range 5 {
		ws = append(ws, webhook.Webhook{Source: webhook.SourceImport, Request: contactsync.Request{
			ContactID: fmt.Sprint(700 + i), Action: contactsync.ActionAdd, Role: "customer", SendNotification: true}})
	}
	shared, err := Enqueue(ctx, sh, ws[:3], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	own, err := Enqueue(ctx, e.st, ws[3:], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ids := append(shared, own...)
	if len(ids) != 5 {
		t.Fatalf("ids %v, want 5", ids)
	}
	for i, o := range e.waitFinal(ids...) {
		if o.State != webhook.StateDone {
			t.Errorf("webhook %d ended %s: %s", o.WebhookID, o.State, o.Message)
		}
		rec := e.record(ids[i])
		if rec.Source != webhook.SourceImport || rec.Request.ContactID != ws[i].Request.ContactID ||
			rec.Request.Role != "customer" || !rec.Request.SendNotification || rec.ReceivedAt.IsZero() {
			t.Errorf("stored %+v, want %+v", rec, ws[i])
		}
		if calls := e.runner.CallsFor(ws[i].Request.ContactID); len(calls) != 1 || calls[0].Action != contactsync.ActionAdd {
			t.Errorf("contact %s: rounds %+v, want one add", ws[i].Request.ContactID, calls)
		}
	}
	if got, err := Enqueue(ctx, sh, nil, time.Now()); err != nil || got != nil {
		t.Errorf("Enqueue(nothing) = %v, %v", got, err)
	}
}
