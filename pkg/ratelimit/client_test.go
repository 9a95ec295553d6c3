package ratelimit_test

import (
	"context"
	"flag"
	"sync"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/pkg/ratelimit"
)

var (
	_ activecampaign.Limiter  = (*ratelimit.Limiter)(nil)
	_ activecampaign.Pauser   = (*ratelimit.Limiter)(nil)
	_ activecampaign.Acquirer = (*ratelimit.Limiter)(nil)
)

const key = "test-key"

var budgetRun = flag.Duration("budget", 10*time.Second, "how long TestBudgetShareDuringBacklog keeps each fake busy")

// TestBudgetShareDuringBacklog keeps a fake ActiveCampaign limited to 5 requests
// per sliding second busy through the real client, answering after ~1 ms and after
// +300 ms, and prints the share of the budget used (go test -v) over the whole run
// and once the limiter has seen its first answers (after 2 s). No request may be
// refused. Longer runs give steadier figures:
//
//	go test ./pkg/ratelimit/ -run Budget -v -args -budget=60s
//
// It does not run in parallel with the package's other tests: the fake counts a
// request when its handler starts, and a starved handler that starts late is a
// broken assumption (see docs/ratelimit.md) rather than a finding.
func TestBudgetShareDuringBacklog(t *testing.T) {
	const perSecond = 5
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
			srv := acfake.NewServer(acfake.Config{APIKey: key, RateLimit: perSecond})
			defer srv.Close()
			srv.SetDelay(tt.delay)
			c, err := activecampaign.NewClient(srv.URL(), key, activecampaign.WithLimiter(ratelimit.New(perSecond)))
			if err != nil {
				t.Fatal(err)
			}
			backlog(t, c, 20, run)
			srv.Close() // waits for the requests cut short at the end to be recorded
			if srv.Throttled() != 0 || srv.MaxInWindow(time.Second) > perSecond {
				t.Fatalf("429s = %d, most requests in a second = %d; want 0, <= %d",
					srv.Throttled(), srv.MaxInWindow(time.Second), perSecond)
			}
			var at []time.Time
			for _, r := range srv.Requests() {
				at = append(at, r.At)
			}
			whole, steady := share(at, perSecond, 0), share(at, perSecond, 2*time.Second)
			t.Logf("%s: %d requests in %v (%.1f %% of %d), budget used %.1f %% (whole run), %.1f %% (after 2 s)",
				tt.name, len(at), run, 100*float64(len(at))/(perSecond*run.Seconds()), perSecond*int(run.Seconds()),
				100*whole, 100*steady)
			if testing.Short() {
				return // 2 s after the first answers are too few to judge (0.77 at +300 ms)
			}
			// Generous: a loaded machine wakes callers late. Counting each request
			// until a window after its answer gave 0.77 at +300 ms.
			if steady < 0.8 || steady > 1 {
				t.Errorf("budget share = %.3f, want between 0.8 and 1", steady)
			}
		})
	}
}

// share returns the share of the budget used by the arrivals from skip after the
// first on: those after the first perSecond of them (a burst), over what
// perSecond per second allow between the first and the last of them.
func share(at []time.Time, perSecond int, skip time.Duration) float64 {
	from := at[0].Add(skip)
	for len(at) > 0 && at[0].Before(from) {
		at = at[1:]
	}
	if len(at) <= perSecond {
		return 0
	}
	span := at[len(at)-1].Sub(at[0])
	return float64(len(at)-perSecond) / (float64(perSecond) * span.Seconds())
}

// backlog keeps callers goroutines sending requests through c for d.
func backlog(t *testing.T, c *activecampaign.Client, callers int, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if _, err := c.Users.Me(ctx); err != nil && ctx.Err() == nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
