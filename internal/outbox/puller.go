package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wpbridge/wpbridge/wordpress"
)

// DefaultBatch is how many events a Puller asks for at once.
const DefaultBatch = 100

// Source is the plugin's outbox; *wordpress.OutboxService is one.
type Source interface {
	Pull(ctx context.Context, after int64, limit int) ([]wordpress.Event, error)
	Ack(ctx context.Context, upTo int64) (int64, error)
}

// Store keeps events durably (wpbridge's queue, source "wordpress"). It
// returns nil only once every event of the batch is stored for good, and must
// ignore an event it already holds (same Key): a batch can come again after
// a crash or a failed acknowledgement.
type Store interface {
	Store(ctx context.Context, events []wordpress.Event) error
}

// Puller moves events from the plugin's outbox to a Store: pull a batch,
// store it, then acknowledge it (the plugin deletes it). Nothing is lost
// between the two: an event leaves the plugin only after Store succeeded.
type Puller struct {
	Source Source
	Store  Store
	Poll   time.Duration // OUTBOX_POLL: the wait between two drains (default 1s)
	Batch  int           // events per pull, 1..wordpress.MaxOutboxBatch (default DefaultBatch)
	Logger *slog.Logger  // default slog.Default()
}

// Run drains the outbox every Poll until ctx ends, then returns nil. A failed
// drain is logged and tried again at the next tick; nothing is acknowledged
// that was not stored.
func (p *Puller) Run(ctx context.Context) error {
	poll := p.Poll
	if poll <= 0 {
		poll = time.Second
	}
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if n, err := p.Drain(ctx); err != nil && ctx.Err() == nil {
			log.Warn("outbox: pull from WordPress failed; trying again", "stored", n, "err", err)
		} else if n > 0 {
			log.Debug("outbox: events stored", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Drain pulls, stores and acknowledges batches until the outbox is empty (or
// a batch comes back short) and returns how many events it stored. It always
// pulls from the oldest pending event: what was acknowledged is gone, what
// was stored but not acknowledged comes again (and the Store ignores it).
func (p *Puller) Drain(ctx context.Context) (int, error) {
	batch := p.Batch
	if batch <= 0 {
		batch = DefaultBatch
	}
	if p.Source == nil || p.Store == nil {
		return 0, errors.New("outbox: a Puller needs a Source and a Store")
	}
	stored := 0
	for ctx.Err() == nil {
		events, err := p.Source.Pull(ctx, 0, batch)
		if err != nil {
			return stored, fmt.Errorf("outbox: pull: %w", err)
		}
		if len(events) == 0 {
			return stored, nil
		}
		if err := p.Store.Store(ctx, events); err != nil {
			return stored, fmt.Errorf("outbox: store %d events: %w", len(events), err)
		}
		stored += len(events)
		last := events[len(events)-1].ID
		if _, err := p.Source.Ack(ctx, last); err != nil {
			return stored, fmt.Errorf("outbox: acknowledge up to event %d: %w", last, err)
		}
		if len(events) < batch {
			return stored, nil
		}
	}
	return stored, ctx.Err()
}
