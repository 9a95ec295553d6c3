package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wpbridge/wpbridge/internal/admin"
	"github.com/wpbridge/wpbridge/internal/queue"
	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

// adminHistory shows the store's webhook history to the admin page.
type adminHistory struct {
	db *store.DB
}

var _ admin.History = adminHistory{}

func (h adminHistory) Counts(ctx context.Context) (map[string]int, error) {
	return h.db.Webhooks.CountByState(ctx)
}

func (h adminHistory) List(ctx context.Context, f admin.Filter) ([]admin.Webhook, error) {
	recs, err := h.db.Webhooks.List(ctx, store.ListOptions{State: f.State, ContactID: f.ContactID, Limit: f.Limit})
	if err != nil {
		return nil, err
	}
	out := make([]admin.Webhook, 0, len(recs))
	for _, r := range recs {
		out = append(out, AdminWebhook(r))
	}
	return out, nil
}

func (h adminHistory) Get(ctx context.Context, id int64) (*admin.Detail, error) {
	r, err := h.db.Webhooks.Get(ctx, id)
	if errors.Is(err, webhook.ErrNotFound) {
		return nil, admin.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return AdminDetail(r), nil
}

// Retry puts a failed webhook back to pending with a new job, as
// wpbridge webhooks retry does; the server's workers pick it up.
func (h adminHistory) Retry(ctx context.Context, id int64) error {
	r, err := h.db.Webhooks.Get(ctx, id)
	if errors.Is(err, webhook.ErrNotFound) {
		return admin.ErrNotFound
	}
	if err != nil {
		return err
	}
	if r.State != webhook.StateFailed {
		return admin.ErrNotFailed
	}
	done, err := queue.Requeue(ctx, h.db, []int64{id}, time.Now())
	if err != nil {
		return fmt.Errorf("retry webhook %d: %w", id, err)
	}
	if len(done) == 0 { // it changed state in between
		return admin.ErrNotFailed
	}
	return nil
}

// AdminWebhook is a stored webhook as the admin page (and its JSON shape,
// shared with wpbridge webhooks) sees it.
func AdminWebhook(r webhook.Record) admin.Webhook {
	return admin.Webhook{
		ID: r.ID, ReceivedAt: r.ReceivedAt, Source: r.Source, Action: string(r.Request.Action),
		ContactID: r.Request.ContactID, State: r.State, Attempts: r.Attempts, Error: r.Error, UserID: r.UserID,
	}
}

// AdminDetail is a stored webhook with its parameters, as the admin page
// (and wpbridge webhooks show) sees it.
func AdminDetail(r webhook.Record) *admin.Detail {
	return &admin.Detail{
		Webhook: AdminWebhook(r), Role: r.Request.Role, SendNotification: r.Request.SendNotification, Async: r.Async,
		Email: r.Request.EmailHint, HasTags: r.Request.HasTags, Tags: r.Request.Tags,
		Delete: r.Request.Delete, Reassign: r.Request.Reassign, Message: r.Message,
		RetryFrom: r.RetryFrom, FinishedAt: r.FinishedAt,
	}
}
