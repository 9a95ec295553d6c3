package queue

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/wpbridge/wpbridge/internal/store"
)

// Requeue puts the failed webhooks among ids back to pending with a fresh
// retry horizon starting at now, and inserts a job for each, in one
// transaction. It is for processes that do not work the queue (wpbridge
// webhooks retry, on a database opened with store.OpenSQLiteShared): it
// inserts through an insert-only River client, and a running server picks
// the jobs up when it next polls (or when it starts). Webhooks that are
// not failed are left alone; it returns the ids put back.
func Requeue(ctx context.Context, db *store.DB, ids []int64, now time.Time) ([]int64, error) {
	// No queues and no workers: River only inserts.
	client, err := river.NewClient(db.RiverDriver(), &river.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return nil, fmt.Errorf("queue: create insert-only river client: %w", err)
	}
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("queue: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	retried, err := db.Webhooks.RetryTx(ctx, tx, ids, now)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	out := make([]int64, 0, len(retried))
	for _, r := range retried {
		if _, err := client.InsertTx(ctx, tx, SyncArgs{WebhookID: r.ID, ContactID: r.ContactID}, nil); err != nil {
			return nil, fmt.Errorf("queue: insert job of webhook %d: %w", r.ID, err)
		}
		out = append(out, r.ID)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("queue: commit: %w", err)
	}
	return out, nil
}
