package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/wpbridge/wpbridge/internal/config"
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

// OpenHistory opens the configured database without taking the server's
// work lock, for the commands that read the history or enqueue beside a
// running wpbridge serve. It never creates one: a mistyped DATABASE_URL is an error.
func OpenHistory(ctx context.Context, cfg *config.Config) (*store.DB, error) {
	if store.IsPostgresURL(cfg.DatabaseURL) {
		db, err := store.OpenPostgres(ctx, cfg.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("DATABASE_URL %s: %w", cfg.RedactedDatabaseURL(), err)
		}
		return db, nil
	}
	path, ok := cfg.SQLitePath()
	if !ok {
		return nil, errors.New("DATABASE_URL: want sqlite:PATH or postgres://...")
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("DATABASE_URL: no database at %s (wpbridge serve creates it): %w", path, err)
	}
	db, err := store.OpenSQLiteShared(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	return db, nil
}
