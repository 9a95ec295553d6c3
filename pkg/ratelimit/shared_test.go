package ratelimit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/internal/testing/pgtest"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
)

// memLedger is a Ledger in memory, each call taking latency (half before the
// ledger's clock is read, half after), as a database's round trip does.
type memLedger struct {
	latency time.Duration

	mu     sync.Mutex
	next   int64
	held   map[int64]time.Time
	paused time.Time
}

func (m *memLedger) call(f func(now time.Time)) {
	time.Sleep(m.latency / 2)
	m.mu.Lock()
	f(time.Now())
	m.mu.Unlock()
	time.Sleep(m.latency / 2)
}

func (m *memLedger) Take(_ context.Context, n int, hold time.Duration) (slot int64, wait time.Duration, _ error) {
	m.call(func(now time.Time) {
		if now.Before(m.paused) {
			wait = m.paused.Sub(now)
			return
		}
		var first time.Time
		for id, end := range m.held {
			if !end.After(now) {
				delete(m.held, id)
			} else if first.IsZero() || end.Before(first) {
				first = end
			}
		}
		if len(m.held) >= n {
			wait = first.Sub(now)
			return
		}
		m.next++
		slot = m.next
		m.held[slot] = now.Add(hold)
	})
	return slot, wait, nil
}

func (m *memLedger) Hold(_ context.Context, slot int64, d time.Duration) error {
	m.call(func(now time.Time) {
		if d <= 0 {
			delete(m.held, slot)
		} else {
			m.held[slot] = now.Add(d)
		}
	})
	return nil
}

func (m *memLedger) Pause(_ context.Context, d time.Duration) error {
	m.call(func(now time.Time) {
		if until := now.Add(d); until.After(m.paused) {
			m.paused = until
		}
	})
	return nil
}

// countingLedger counts the calls of Take and the slots it granted.
type countingLedger struct {
	Ledger
	takes, granted atomic.Int32
}

func (c *countingLedger) Take(ctx context.Context, n int, hold time.Duration) (int64, time.Duration, error) {
	c.takes.Add(1)
	slot, wait, err := c.Ledger.Take(ctx, n, hold)
	if slot != 0 {
		c.granted.Add(1)
	}
	return slot, wait, err
}

// ledgerKinds make n Ledgers sharing one budget: one in memory, or n
// handles on one PostgreSQL schema (as n processes have). run runs a test
// with the kind: the one in memory on synctest's fake clock, PostgreSQL on
// the real one (the database's clock is real, and so is its network).
var ledgerKinds = []struct {
	name string
	run  func(t *testing.T, f func(t *testing.T))
	make func(t *testing.T, n int) []Ledger
}{
	{"memory", bubble, func(t *testing.T, n int) []Ledger {
		m := &memLedger{latency: time.Millisecond, held: map[int64]time.Time{}}
		out := make([]Ledger, n)
		for i := range out {
			out[i] = m
		}
		return out
	}},
	{"postgres", func(t *testing.T, f func(t *testing.T)) { f(t) }, postgresLedgers},
}

func postgresLedgers(t *testing.T, n int) []Ledger {
	t.Helper()
	u := pgtest.SchemaURL(t)
	var out []Ledger
	for range n {
		db, err := store.OpenPostgres(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		out = append(out, db.ACBudget())
	}
	return out
}

// sharing returns a Limiter of n per second on each ledger.
func sharing(n int, ledgers []Ledger, opts ...Option) []*Limiter {
	var ls []*Limiter
	for _, lg := range ledgers {
		ls = append(ls, New(n, append([]Option{WithLedger(lg)}, opts...)...))
	}
	return ls
}

// TestSharedNeverOverLimitAtServer: three Limiters sharing a ledger (three
// processes) burst many callers at one fake server that counts each request
// at its arrival; no window of one second sees more than the limit.
func TestSharedNeverOverLimitAtServer(t *testing.T) {
	t.Parallel()
	const base = 20 * time.Millisecond
	withinJitter := func(int) time.Duration { return base + extreme(DefaultJitter) }
	fast := func(int) time.Duration { return between(200*time.Microsecond, 3*time.Millisecond) }
	slow := func(int) time.Duration { return 300*time.Millisecond + fast(0) }
	cases := []struct {
		name string
		sim  sim
	}{
		{"fast answers, arrival anywhere before the answer",
			sim{callers: 30, requests: 30, connect: newConnection, serve: fast}},
		{"+300 ms answers, transit within the jitter bound",
			sim{callers: 30, requests: 30, connect: newConnection, transit: withinJitter, serve: slow}},
		{"+300 ms answers, every other one held up by up to 150 ms",
			sim{callers: 30, requests: 30, connect: newConnection,
				transit: func(seq int) time.Duration { return base + extreme(150*time.Millisecond)*time.Duration(seq%2) },
				serve:   slow}},
		{"mixed, callers do not trace",
			sim{callers: 30, requests: 20, untraced: true, connect: newConnection, serve: func(int) time.Duration {
				return time.Duration(rand.IntN(2)) * slow(0)
			}}},
	}
	for _, kind := range ledgerKinds {
		for _, tt := range cases {
			t.Run(kind.name+"/"+tt.name, func(t *testing.T) {
				if kind.name == "postgres" && testing.Short() {
					t.Skip("on PostgreSQL's real clock a case takes 5-9 s; runs without -short")
				}
				t.Parallel()
				kind.run(t, func(t *testing.T) {
					const n = 5
					calls := tt.sim.run(t, sharing(n, kind.make(t, 3))...)
					if len(calls) != tt.sim.requests {
						t.Fatalf("%d requests done, want %d", len(calls), tt.sim.requests)
					}
					if msg := overLimit(calls, n); msg != "" {
						t.Errorf("limit %d exceeded at the server: %s", n, msg)
					}
				})
			})
		}
	}
}

// TestUnsharedLimitersOverLimit is the control: three Limiters that share
// nothing, as three processes each with its own budget, exceed the limit at
// the server, and the check sees it.
func TestUnsharedLimitersOverLimit(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T) {
		s := sim{callers: 15, requests: 15, connect: func(int) time.Duration { return 0 },
			serve: func(int) time.Duration { return time.Millisecond }}
		calls := s.run(t, New(5), New(5), New(5))
		if msg := overLimit(calls, 5); msg == "" {
			t.Fatal("no window over the limit found with three unshared budgets")
		}
	})
}

// TestSharedLoneCallerBursts: with an empty ledger, the first N requests,
// through any of the Limiters, each go at the first ask; the next one is
// refused until a slot comes free.
func TestSharedLoneCallerBursts(t *testing.T) {
	t.Parallel()
	for _, kind := range ledgerKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			kind.run(t, func(t *testing.T) {
				const n = 5
				var ledgers []Ledger
				for _, lg := range kind.make(t, 3) {
					ledgers = append(ledgers, &countingLedger{Ledger: lg})
				}
				ls := sharing(n, ledgers)
				ctx := context.Background()
				for i := range n {
					_, done, err := ls[i%len(ls)].Acquire(ctx)
					if err != nil {
						t.Fatal(err)
					}
					defer done()
				}
				var takes int32
				for _, lg := range ledgers {
					takes += lg.(*countingLedger).takes.Load()
				}
				if takes != n {
					t.Fatalf("%d asks of the ledger for %d requests, want one each (none waited)", takes, n)
				}
				if p, _, err := ls[1].takeShared(ctx, false); err != nil || p != nil {
					t.Fatalf("request %d took a slot (err %v), want it refused", n+1, err)
				}
			})
		})
	}
}

// TestSharedPause: a Pause through one Limiter holds back the others.
func TestSharedPause(t *testing.T) {
	t.Parallel()
	for _, kind := range ledgerKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			kind.run(t, func(t *testing.T) {
				ls := sharing(5, kind.make(t, 3))
				start := time.Now()
				const pause = 400 * time.Millisecond
				ls[0].Pause(pause)
				var wg sync.WaitGroup
				for _, l := range ls[1:] {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, done, err := l.Acquire(context.Background())
						if err != nil {
							t.Error(err)
							return
						}
						done()
						if d := time.Since(start); d < pause {
							t.Errorf("another Limiter's Acquire returned %v after the pause began, want >= %v", d, pause)
						}
					}()
				}
				wg.Wait()
			})
		})
	}
}

// TestSharedSlotFreedEarly: the slot of a request answered at once comes free
// a window after its answer for every Limiter on the ledger, not a window and
// the jitter and LedgerMargin after its write.
func TestSharedSlotFreedEarly(t *testing.T) {
	t.Parallel()
	for _, kind := range ledgerKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			kind.run(t, func(t *testing.T) {
				ls := sharing(1, kind.make(t, 2))
				s := sim{callers: 1, requests: 1, connect: func(int) time.Duration { return 0 },
					serve: func(int) time.Duration { return 0 }}
				first := s.run(t, ls[0])[0]
				second := s.run(t, ls[1])[0]
				if gap := second.granted.Sub(first.answered); gap < window {
					t.Errorf("second request went %v after the first's answer, want >= %v", gap, window)
				}
				if gap := second.granted.Sub(first.wrote); gap >= window+DefaultJitter+LedgerMargin {
					t.Errorf("second request went %v after the first's write, want the slot freed by the answer", gap)
				}
			})
		})
	}
}

// TestLedgerEnd checks what the ledger is told about a slot, from what the
// Limiter knows of its request.
func TestLedgerEnd(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	l := New(1, WithJitter(30*time.Millisecond), WithLedger(&memLedger{}))
	tests := []struct {
		name string
		p    permit
		want time.Time
	}{
		{"in flight, not written: a lease", permit{}, t0.Add(inFlightLease)},
		{"written, no answer yet: may grow", permit{wrote: at(0)}, at(1030).Add(LedgerMargin)},
		{"answered fast", permit{wrote: at(0), answered: at(2)}, at(1002)},
		{"answered slowly, held up on the way", permit{wrote: at(0), answered: at(350), late: 50 * time.Millisecond}, at(1080)},
		{"failed after the write", permit{wrote: at(0), finished: at(5)}, at(1030)},
		{"done without trace", permit{finished: at(300)}, at(1300)},
		{"given back unused", permit{free: true}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			p.l = l
			if got := p.ledgerEndLocked(t0); !got.Equal(tt.want) {
				t.Errorf("end = %v, want %v", got.Sub(t0), tt.want.Sub(t0))
			}
		})
	}
}

// TestSharedAcquireCancelled: a slot the ledger granted after the caller gave
// up is handed back at once, not held for a lease.
func TestSharedAcquireCancelled(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T) {
		m := &memLedger{latency: 100 * time.Millisecond, held: map[int64]time.Time{}}
		l := New(5, WithLedger(m))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		if _, _, err := l.Acquire(ctx); err == nil {
			t.Fatal("Acquire returned a slot after its context ended")
		}
		wait.For(t, 10*time.Second, "the slot to be handed back", func() (bool, string) {
			m.mu.Lock()
			defer m.mu.Unlock()
			return len(m.held) == 0, fmt.Sprintf("%d slots held", len(m.held))
		})
	})
}
