package outbox

import (
	"context"
	"time"

	"github.com/wpbridge/wpbridge/internal/queue"
	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/internal/webhook"
	"github.com/wpbridge/wpbridge/wordpress"
)

// QueueStore is the Store that keeps events in wpbridge's queue: each event
// is a webhook of source "wordpress" and action wordpress_sync, with a job,
// ordered with its contact's other webhooks (ContactKey), retried and kept
// in the history like them. An event already stored (same Key) is skipped,
// in the same transaction.
type QueueStore struct {
	DB               *store.DB
	ContactIDMetaKey string           // CONTACT_ID_META_KEY
	Now              func() time.Time // default time.Now
}

// Store implements Store.
func (s *QueueStore) Store(ctx context.Context, events []wordpress.Event) error {
	ws, err := Webhooks(events, s.ContactIDMetaKey)
	if err != nil {
		return err
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	_, err = queue.Enqueue(ctx, s.DB, ws, now())
	return err
}

// Webhooks returns the stored webhooks of events.
func Webhooks(events []wordpress.Event, contactIDMetaKey string) ([]webhook.Webhook, error) {
	ws := make([]webhook.Webhook, 0, len(events))
	for _, ev := range events {
		b, err := EncodeEvent(ev)
		if err != nil {
			return nil, err
		}
		ws = append(ws, webhook.Webhook{
			Source: webhook.SourceWordPress, EventKey: Key(ev), EventType: string(ev.Type),
			Request: webhook.Request{
				ContactID: ContactKey(ev, contactIDMetaKey), Action: webhook.ActionWordPressSync,
				EmailHint: ev.User.Email, Event: b, Register: ev.Type == wordpress.EventRegister,
			},
		})
	}
	return ws, nil
}
