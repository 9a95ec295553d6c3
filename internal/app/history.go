package app

import (
	"context"
	"time"

	"github.com/wpbridge/wpbridge/internal/history"
	"github.com/wpbridge/wpbridge/internal/queue"
	"github.com/wpbridge/wpbridge/internal/store"
)

// History is the webhook history of db, whose retries insert their jobs
// through the queue: what wpbridge webhooks, the admin page and its API
// read and replay.
func History(db *store.DB) *history.History {
	return history.New(db, func(ctx context.Context, ids []int64, now time.Time) ([]int64, error) {
		return queue.Requeue(ctx, db, ids, now)
	})
}
