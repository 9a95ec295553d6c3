package admin

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/wpbridge/wpbridge/internal/history"
)

// fakeHistory is an in-memory History.
type fakeHistory struct {
	mu       sync.Mutex
	hooks    []history.Detail // oldest first
	lastList history.Filter
	retried  []int64
}

var _ History = (*fakeHistory)(nil)

func (f *fakeHistory) add(d history.Detail) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	d.ID = int64(len(f.hooks) + 1)
	if d.ReceivedAt.IsZero() {
		d.ReceivedAt = time.Date(2026, 12, 1, 10, 0, int(d.ID), 0, time.UTC)
	}
	f.hooks = append(f.hooks, d)
	return d.ID
}

func (f *fakeHistory) Counts(context.Context) (map[string]int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := map[string]int{}
	for _, h := range f.hooks {
		m[h.State]++
	}
	return m, nil
}

func (f *fakeHistory) List(_ context.Context, flt history.Filter) ([]history.Webhook, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastList = flt
	var out []history.Webhook
	for _, h := range slices.Backward(f.hooks) {
		if (flt.State == "" || h.State == flt.State) && (flt.ContactID == "" || h.ContactID == flt.ContactID) {
			out = append(out, h.Webhook)
		}
		if len(out) == flt.Limit {
			break
		}
	}
	return out, nil
}

func (f *fakeHistory) Get(_ context.Context, id int64) (*history.Detail, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id < 1 || id > int64(len(f.hooks)) {
		return nil, history.ErrNotFound
	}
	d := f.hooks[id-1]
	return &d, nil
}

func (f *fakeHistory) Retry(_ context.Context, ids ...int64) ([]int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		if id < 1 || id > int64(len(f.hooks)) {
			return nil, history.ErrNotFound
		}
		if f.hooks[id-1].State != "failed" {
			return nil, history.ErrNotFailed
		}
	}
	for _, id := range ids {
		h := &f.hooks[id-1]
		h.State, h.Error, h.Attempts = "pending", "", 0
		f.retried = append(f.retried, id)
	}
	return ids, nil
}

// setState lets a test finish a webhook as a worker would.
func (f *fakeHistory) setState(id int64, state string, userID int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hooks[id-1].State, f.hooks[id-1].UserID = state, userID
}

func (f *fakeHistory) state(id int64) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hooks[id-1].State
}
