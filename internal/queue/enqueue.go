package queue

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

// Enqueue stores webhooks (pending) with a job each, in one transaction,
// and returns their ids in order. It is for bulk producers such as wpbridge
// import; webhooks from HTTP go through Queue.Submit. A zero ReceivedAt
// becomes now. A webhook whose EventKey is stored already is skipped (no
// job, no id in the result). See enqueue for where it works.
func Enqueue(ctx context.Context, db *store.DB, ws []webhook.Webhook, now time.Time) ([]int64, error) {
	if len(ws) == 0 {
		return nil, nil
	}
	return enqueue(ctx, db, func(tx *sql.Tx) ([]SyncArgs, error) {
		jobs := make([]SyncArgs, 0, len(ws))
		for _, w := range ws {
			if w.ReceivedAt.IsZero() {
				w.ReceivedAt = now
			}
			id, err := db.Webhooks.Insert(ctx, tx, &w)
			if err != nil {
				return nil, err
			}
			if id == 0 {
				continue // an outbox event stored before
			}
			jobs = append(jobs, SyncArgs{WebhookID: id, ContactID: w.Request.ContactID})
		}
		return jobs, nil
	})
}

// Requeue puts the failed webhooks among ids back to pending with a fresh
// retry horizon starting at now, with a job each, in one transaction (for
// wpbridge webhooks retry). Webhooks that are not failed are left alone; it
// returns the ids put back.
func Requeue(ctx context.Context, db *store.DB, ids []int64, now time.Time) ([]int64, error) {
	return enqueue(ctx, db, func(tx *sql.Tx) ([]SyncArgs, error) {
		retried, err := db.Webhooks.RetryTx(ctx, tx, ids, now)
		if err != nil {
			return nil, err
		}
		jobs := make([]SyncArgs, len(retried))
		for i, r := range retried {
			jobs[i] = SyncArgs{WebhookID: r.ID, ContactID: r.ContactID}
		}
		return jobs, nil
	})
}

// enqueue runs put, which stores or changes webhooks in tx and returns
// their jobs, inserts the jobs in the same transaction and returns the
// webhooks' ids. It inserts through an insert-only River client, so it works
// for processes that do not work the queue, on a database opened with
// store.OpenSQLiteShared while a server owns the work, and on the owner's
// own database; the workers are woken (store.DB.JobsInserted), and a server
// in another process picks the jobs up when it next polls (or starts).
func enqueue(ctx context.Context, db *store.DB, put func(tx *sql.Tx) ([]SyncArgs, error)) ([]int64, error) {
	client, err := river.NewClient(db.RiverDriver(), &river.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return nil, fmt.Errorf("queue: create insert-only river client: %w", err)
	}
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("queue: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	jobs, err := put(tx)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	ids := make([]int64, len(jobs))
	for i, j := range jobs {
		if _, err := client.InsertTx(ctx, tx, j, nil); err != nil {
			return nil, fmt.Errorf("queue: insert job of webhook %d: %w", j.WebhookID, err)
		}
		ids[i] = j.WebhookID
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("queue: commit: %w", err)
	}
	if len(jobs) > 0 {
		db.JobsInserted()
	}
	return ids, nil
}
