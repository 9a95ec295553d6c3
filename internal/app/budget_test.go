package app_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"
	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/app"
	"github.com/wpbridge/wpbridge/internal/config"
	"github.com/wpbridge/wpbridge/internal/metrics"
	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/pgtest"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
)

// On PostgreSQL the AC clients of two apps (two replicas) and of the
// clients wpbridge import makes before its app (SharedBudget) keep within
// one AC_RATE_LIMIT together: a burst through all three never has AC see
// more than 5 requests in a second.
func TestPostgresOneACBudget(t *testing.T) {
	site := wptest.Env(t)
	databaseURL := pgtest.SchemaURL(t)
	ac := acfake.NewServer(acfake.Config{APIKey: testACKey, RateLimit: 5, NewContactID: newContactID})
	defer ac.Close()
	vars := baseEnv(site, ac.URL(), "")
	vars["DATABASE_URL"] = databaseURL
	cfg, err := config.Load(t.Context(), envconfig.MapLookuper(vars))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if db, err := app.SharedBudget(ctx, cfg); err != nil || db != nil {
		t.Fatalf("SharedBudget before any migration = %v, %v; want nil, nil", db, err)
	}
	var clients []*activecampaign.Client
	for range 2 {
		a, err := app.New(ctx, cfg, logrus.New(), app.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		clients = append(clients, a.AC)
	}
	db, err := app.SharedBudget(ctx, cfg)
	if err != nil || db == nil {
		t.Fatalf("SharedBudget = %v, %v; want the database", db, err)
	}
	defer db.Close()
	c, _, err := app.Clients(cfg, metrics.Discard(), db)
	if err != nil {
		t.Fatal(err)
	}
	clients = append(clients, c)

	start := time.Now()
	var wg sync.WaitGroup
	for i := range 15 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := clients[i%len(clients)].Users.Me(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := ac.MaxInWindow(time.Second); ac.Throttled() != 0 || n > 5 {
		t.Errorf("AC saw up to %d requests in a second and refused %d; want <= 5, none", n, ac.Throttled())
	}
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("15 requests at 5 per second took %v, want >= 2s", d)
	}
}
