package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

// Enqueue stores webhooks (pending) with a job each, in one transaction,
// and returns their ids in order. Like Requeue it inserts through an
// insert-only River client, so it works on a database opened with
// store.OpenSQLiteShared while a server owns the work, and on the owner's
// own database (its workers pick the jobs up when they next poll). It is
// for bulk producers such as wpbridge import; webhooks from HTTP go through
// Queue.Submit. A zero ReceivedAt becomes now.
func Enqueue(ctx context.Context, db *store.DB, ws []webhook.Webhook, now time.Time) ([]int64, error) {
	if len(ws) == 0 {
		return nil, nil
	}
	client, err := insertOnlyClient(db)
	if err != nil {
		return nil, err
	}
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("queue: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	ids := make([]int64, 0, len(ws))
	for _, w := range ws {
		if w.ReceivedAt.IsZero() {
			w.ReceivedAt = now
		}
		id, err := db.Webhooks.Insert(ctx, tx, &w)
		if err != nil {
			return nil, fmt.Errorf("queue: %w", err)
		}
		if _, err := client.InsertTx(ctx, tx, SyncArgs{WebhookID: id, ContactID: w.Request.ContactID}, nil); err != nil {
			return nil, fmt.Errorf("queue: insert job of webhook %d: %w", id, err)
		}
		ids = append(ids, id)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("queue: commit: %w", err)
	}
	db.JobsInserted()
	return ids, nil
}
