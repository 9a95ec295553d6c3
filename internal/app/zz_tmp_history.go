package app

import (
	"context"
	"errors"

	"github.com/wpbridge/wpbridge/internal/admin"
	"github.com/wpbridge/wpbridge/internal/store"
)

// TEMPORARY until internal/store/history.go lands on main.
type adminHistory struct{ db *store.DB }

func (adminHistory) Counts(context.Context) (map[string]int, error) { return nil, errors.New("todo") }
func (adminHistory) List(context.Context, admin.Filter) ([]admin.Webhook, error) {
	return nil, errors.New("todo")
}
func (adminHistory) Get(context.Context, int64) (*admin.Detail, error) { return nil, admin.ErrNotFound }
func (adminHistory) Retry(context.Context, int64) error                { return admin.ErrNotFound }
