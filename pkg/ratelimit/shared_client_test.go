package ratelimit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/pgtest"
	"github.com/wpbridge/wpbridge/pkg/ratelimit"
)

// TestSharedBudgetShare is TestBudgetShareDuringBacklog for three processes
// sharing one budget in PostgreSQL: three clients, each with its own database
// handle and Limiter, keep one fake ActiveCampaign (5 requests per sliding
// second) busy, and the test prints the share of the budget used (go test -v).
// No request may be refused; the share is only checked against a loose bound,
// and not with -short.
//
//	go test ./pkg/ratelimit/ -run SharedBudget -v -args -budget=60s
func TestSharedBudgetShare(t *testing.T) {
	const perSecond, replicas = 5, 3
	run := *budgetRun
	if testing.Short() {
		run = 4 * time.Second
	}
	tests := []struct {
		name  string
		delay time.Duration
	}{
		{"AC ~1 ms", 0},
		{"AC +300 ms", 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := pgtest.SchemaURL(t)
			srv := acfake.NewServer(acfake.Config{APIKey: key, RateLimit: perSecond})
			defer srv.Close()
			srv.SetDelay(tt.delay)
			var clients []*activecampaign.Client
			for range replicas {
				db, err := store.OpenPostgres(context.Background(), u)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				if err := db.Migrate(context.Background()); err != nil {
					t.Fatal(err)
				}
				lim := ratelimit.New(perSecond, ratelimit.WithLedger(db.ACBudget()))
				c, err := activecampaign.NewClient(srv.URL(), key, activecampaign.WithLimiter(lim))
				if err != nil {
					t.Fatal(err)
				}
				clients = append(clients, c)
			}
			var wg sync.WaitGroup
			for _, c := range clients {
				wg.Add(1)
				go func() { defer wg.Done(); backlog(t, c, 7, run) }()
			}
			wg.Wait()
			srv.Close()
			if srv.Throttled() != 0 || srv.MaxInWindow(time.Second) > perSecond {
				t.Fatalf("429s = %d, most requests in a second = %d; want 0, <= %d",
					srv.Throttled(), srv.MaxInWindow(time.Second), perSecond)
			}
			var at []time.Time
			for _, r := range srv.Requests() {
				at = append(at, r.At)
			}
			// Each replica compares its answers with the quickest of its own
			// last 8 (see docs/ratelimit.md): three take three times as long
			// to learn.
			whole, steady := share(at, perSecond, 0), share(at, perSecond, 4*time.Second)
			t.Logf("%s, %d replicas: %d requests in %v, budget used %.1f %% (whole run), %.1f %% (after 4 s)",
				tt.name, replicas, len(at), run, 100*whole, 100*steady)
			if testing.Short() {
				return // too short a run to judge
			}
			if steady < 0.7 || steady > 1 {
				t.Errorf("budget share = %.3f, want between 0.7 and 1", steady)
			}
		})
	}
}
