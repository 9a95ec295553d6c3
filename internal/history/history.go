// Package history is the webhook history: list, show and retry of stored
// webhooks. It is the one implementation behind `wpbridge webhooks`, the
// admin page and its JSON API; json.go holds the contract's JSON shapes they
// share, text.go the command's text output.
package history

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

// Errors of Get and Retry (matched with errors.Is).
var (
	// ErrNotFound: the id is not stored (never was, or was deleted after
	// HISTORY_RETENTION).
	ErrNotFound = webhook.ErrNotFound
	// ErrNotFailed: only failed webhooks can be retried.
	ErrNotFailed = errors.New("webhook is not failed")
)

// States a webhook can be in, in display order.
var States = []string{webhook.StatePending, webhook.StateDone, webhook.StateIgnored, webhook.StateFailed}

// Webhook is one stored webhook as a list shows it.
type Webhook struct {
	ID         int64
	ReceivedAt time.Time
	Source     string // webhook, import or wordpress
	Action     string
	ContactID  string
	State      string // one of States
	Attempts   int
	Error      string // last error, if any
	UserID     int64  // resulting WordPress user, 0 if none
	Message    string // the result, in words
}

// Detail is one webhook with its parameters and result.
type Detail struct {
	Webhook
	Role             string
	SendNotification bool
	Async            bool
	Email            string   // the payload's email, if any
	HasTags          bool     // the payload had a tags field
	Tags             []string // the payload's tags
	Delete           bool     // remove_access: delete the user
	Reassign         string   // remove_access: the email of the user who gets the content
	RetryFrom        time.Time
	FinishedAt       time.Time // zero while pending
}

// Filter selects webhooks for List; zero values select everything, Limit 0
// means 50.
type Filter struct {
	State     string // one of States, or empty
	ContactID string
	Limit     int // newest first
}

// RequeueFunc puts the failed webhooks among ids back to pending with a
// fresh retry horizon starting at now, with a job each, and returns the ids
// it put back (queue.Requeue on the history's database).
type RequeueFunc func(ctx context.Context, ids []int64, now time.Time) ([]int64, error)

// History reads and replays the stored webhooks of one database.
type History struct {
	db      *store.DB
	requeue RequeueFunc
	now     func() time.Time
}

// New is the history of db; requeue is how a retry inserts the jobs.
func New(db *store.DB, requeue RequeueFunc) *History {
	return &History{db: db, requeue: requeue, now: time.Now}
}

// Counts returns how many webhooks are in each state.
func (h *History) Counts(ctx context.Context) (map[string]int, error) {
	return h.db.Webhooks.CountByState(ctx)
}

// List returns stored webhooks, newest first.
func (h *History) List(ctx context.Context, f Filter) ([]Webhook, error) {
	recs, err := h.db.Webhooks.List(ctx, store.ListOptions{State: f.State, ContactID: f.ContactID, Limit: f.Limit})
	if err != nil {
		return nil, err
	}
	out := make([]Webhook, 0, len(recs))
	for _, r := range recs {
		out = append(out, webhookOf(r))
	}
	return out, nil
}

// Get returns one webhook, or an error wrapping ErrNotFound.
func (h *History) Get(ctx context.Context, id int64) (*Detail, error) {
	r, err := h.db.Webhooks.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w (finished webhooks are deleted after HISTORY_RETENTION)", err)
	}
	if err != nil {
		return nil, err
	}
	return detailOf(r), nil
}

// Retry puts the failed webhooks ids back to pending with a fresh retry
// budget; a running wpbridge serve works them. It first checks that each is
// stored and failed and retries none otherwise (the error wraps ErrNotFound
// or ErrNotFailed for each). It returns the ids put back; when some changed
// state in between, they are left alone and the error wraps ErrNotFailed.
func (h *History) Retry(ctx context.Context, ids ...int64) ([]int64, error) {
	var problems []error
	for _, id := range ids {
		d, err := h.Get(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound):
			problems = append(problems, err)
		case err != nil:
			return nil, err
		case d.State != webhook.StateFailed:
			problems = append(problems, &notFailed{id: id, state: d.State})
		}
	}
	if len(problems) > 0 {
		return nil, &nothingRetried{problems}
	}
	done, err := h.requeue(ctx, ids, h.now())
	if err != nil {
		return nil, err
	}
	if len(done) < len(ids) {
		return done, &leftAlone{n: len(ids) - len(done), of: len(ids)}
	}
	return done, nil
}

// RetryFailed puts every failed webhook (of one contact when contactID is
// not empty) back to pending, as Retry does, and returns the ids put back:
// nil when none was failed.
func (h *History) RetryFailed(ctx context.Context, contactID string) ([]int64, error) {
	ids, err := h.db.Webhooks.FailedIDs(ctx, contactID)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	return h.requeue(ctx, ids, h.now())
}

// nothingRetried is Retry's answer when some id was not failed.
type nothingRetried struct{ problems []error }

func (e *nothingRetried) Error() string {
	return "nothing retried:\n" + errors.Join(e.problems...).Error()
}

func (e *nothingRetried) Unwrap() []error { return e.problems }

// notFailed is Retry's problem with a webhook in another state.
type notFailed struct {
	id    int64
	state string
}

func (e *notFailed) Error() string {
	return fmt.Sprintf("webhook %d is %s, not failed: only failed webhooks can be retried", e.id, e.state)
}

func (e *notFailed) Is(target error) bool { return target == ErrNotFailed }

// leftAlone is Retry's answer when webhooks changed state after the check.
type leftAlone struct{ n, of int }

func (e *leftAlone) Error() string {
	return fmt.Sprintf("%d of %d webhooks were no longer failed and were left alone", e.n, e.of)
}

func (e *leftAlone) Is(target error) bool { return target == ErrNotFailed }

func webhookOf(r webhook.Record) Webhook {
	return Webhook{
		ID: r.ID, ReceivedAt: r.ReceivedAt, Source: r.Source, Action: string(r.Request.Action),
		ContactID: r.Request.ContactID, State: r.State, Attempts: r.Attempts, Error: r.Error, UserID: r.UserID,
		Message: r.Message,
	}
}

func detailOf(r webhook.Record) *Detail {
	return &Detail{
		Webhook: webhookOf(r), Role: r.Request.Role, SendNotification: r.Request.SendNotification, Async: r.Async,
		Email: r.Request.EmailHint, HasTags: r.Request.HasTags, Tags: r.Request.Tags,
		Delete: r.Request.Delete, Reassign: r.Request.Reassign,
		RetryFrom: r.RetryFrom, FinishedAt: r.FinishedAt,
	}
}
