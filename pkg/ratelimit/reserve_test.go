package ratelimit

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestReserve: the first request sent with a reservation's context takes
// the reserved slot without waiting; a second one waits for a slot of its
// own; a reservation given back unused frees its slot at once, and one that
// a request took still counts after release. Alone and with a ledger.
func TestReserve(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		new  func() *Limiter
	}{
		{"alone", func() *Limiter { return New(1) }},
		{"ledger", func() *Limiter {
			return New(1, WithLedger(&memLedger{latency: time.Millisecond, held: map[int64]time.Time{}}))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T) {
				l := tc.new()
				blocked := func(ctx context.Context, what string) {
					t.Helper()
					ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
					defer cancel()
					if _, _, err := l.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
						t.Fatalf("%s: Acquire = %v, want it to wait (the one slot is held)", what, err)
					}
				}
				free := func(ctx context.Context, what string) func() {
					t.Helper()
					ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
					defer cancel()
					_, done, err := l.Acquire(ctx)
					if err != nil {
						t.Fatalf("%s: Acquire = %v, want the slot at once", what, err)
					}
					return done
				}

				// Given back unused: free at once.
				_, release, err := l.Reserve(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				blocked(context.Background(), "beside an unused reservation")
				release()
				release()                                                            // a second call does nothing
				free(context.Background(), "after the reservation was given back")() // takes the slot for a window

				l = tc.new() // a fresh limiter: its one slot free
				rctx, release, err := l.Reserve(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				done := free(rctx, "first request of the reservation")
				blocked(rctx, "second request of the reservation")
				release() // taken: still counts
				done()
				blocked(context.Background(), "after a used reservation's release")
			})
		})
	}
}
