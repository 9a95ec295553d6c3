package store

import (
	"context"
	"maps"
	"testing"

	"github.com/wpbridge/wpbridge/internal/webhook"
)

func TestWebhooksCountByState(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	ids := insert(t, db, req("1"), req("2"), req("3"), req("4"))
	if err := db.Webhooks.Finish(ctx, []webhook.Outcome{
		{WebhookID: ids[0], State: webhook.StateDone, UserID: 5},
		{WebhookID: ids[1], State: webhook.StateFailed, Message: "invalid email"},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Webhooks.Claim(ctx, "3", 1); err != nil { // a round is running: reads as pending
		t.Fatal(err)
	}
	got, err := db.Webhooks.CountByState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{webhook.StatePending: 2, webhook.StateDone: 1, webhook.StateFailed: 1}; !maps.Equal(got, want) {
		t.Errorf("CountByState = %v, want %v", got, want)
	}
}
