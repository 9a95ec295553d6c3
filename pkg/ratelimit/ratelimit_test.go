package ratelimit

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestWait: Wait lets perSecond callers go at once; the next one goes a window
// and the jitter after the first, since its request counts as written at once.
func TestWait(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		perSecond int
		wantBurst int
	}{
		{"five", 5, 5},
		{"zero means one", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T) {
				l := New(tt.perSecond, WithJitter(10*time.Millisecond))
				first := time.Now()
				for i := range tt.wantBurst {
					if p, wait, _ := l.take(true); p == nil {
						t.Fatalf("Wait %d of %d must wait %v, want none", i+1, tt.wantBurst, wait)
					}
				}
				if err := l.Wait(context.Background()); err != nil {
					t.Fatal(err)
				}
				if d := time.Since(first); d < window+10*time.Millisecond {
					t.Errorf("Wait %d returned %v after the first, want >= %v", tt.wantBurst+1, d, window+10*time.Millisecond)
				}
			})
		})
	}
}

func TestPause(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T) {
		l := New(100)
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		l.Pause(300 * time.Millisecond)
		l.Pause(50 * time.Millisecond) // must not shorten
		until := l.PausedUntil()
		if d := until.Sub(start); d < 290*time.Millisecond {
			t.Fatalf("PausedUntil - now = %v, want about 300ms", d)
		}
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, done, err := l.Acquire(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				defer done()
				if now := time.Now(); now.Before(until) {
					t.Errorf("Acquire returned %v before the pause end", until.Sub(now))
				}
			}()
		}
		wg.Wait()
	})
}

// TestPauseWhileWaiting: a caller already waiting for a slot honours a pause
// issued meanwhile, even one that ends after the slot comes free.
func TestPauseWhileWaiting(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T) {
		l := New(1)
		_ = l.Wait(context.Background()) // holds the slot for ~1.03s
		done := make(chan time.Time)
		go func() {
			_ = l.Wait(context.Background())
			done <- time.Now()
		}()
		synctest.Wait() // the waiter sleeps
		if !l.hasWaiters() {
			t.Fatal("the second Wait does not wait for the slot")
		}
		l.Pause(1500 * time.Millisecond)
		until := l.PausedUntil()
		if got := <-done; got.Before(until) {
			t.Errorf("waiter passed %v before the pause ended", until.Sub(got))
		}
	})
}

// TestFillWindow: after a restart nothing goes for a window and the jitter, then
// the whole budget goes at once.
func TestFillWindow(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T) {
		const n, jitter = 3, 20 * time.Millisecond
		l := New(n, WithJitter(jitter))
		start := time.Now()
		l.FillWindow()
		if p, _, _ := l.take(false); p != nil {
			t.Fatal("a request went right after FillWindow")
		}
		_, done, err := l.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer done()
		if d := time.Since(start); d < window+jitter {
			t.Errorf("first request went %v after FillWindow, want >= %v", d, window+jitter)
		}
		for i := 1; i < n; i++ {
			if p, wait, _ := l.take(false); p == nil {
				t.Fatalf("request %d of %d after the full window must wait %v, want none", i+1, n, wait)
			}
		}
	})
}

func TestWaitContext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		pause time.Duration
		ctx   func() (context.Context, context.CancelFunc)
		want  error
	}{
		{"already cancelled", 0, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, context.Canceled},
		{"deadline during pause", time.Hour, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 30*time.Millisecond)
		}, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T) {
				l := New(5)
				l.Pause(tt.pause)
				ctx, cancel := tt.ctx()
				defer cancel()
				start := time.Now()
				err := l.Wait(ctx)
				if !errors.Is(err, tt.want) {
					t.Errorf("Wait() = %v, want %v", err, tt.want)
				}
				if d := time.Since(start); d > time.Second {
					t.Errorf("Wait took %v after cancel", d)
				}
				l.mu.Lock()
				defer l.mu.Unlock()
				if len(l.held) != 0 {
					t.Errorf("a cancelled Wait holds %d slots", len(l.held))
				}
			})
		})
	}
}

// hasWaiters reports whether a caller sleeps waiting for a slot or a pause.
func (l *Limiter) hasWaiters() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed != nil
}

// bubble runs f on synctest's fake clock, where a test of a second or more of
// waits takes microseconds. The bubble's clock stops when f returns, and a
// goroutine still asleep then is a deadlock; so before the end the clock moves
// on by settle, for the Limiters' background calls to a ledger to finish.
func bubble(t *testing.T, f func(t *testing.T)) {
	synctest.Test(t, func(t *testing.T) {
		t.Cleanup(func() { time.Sleep(settle) })
		f(t)
	})
}

// settle is longer than any background call of the tests' ledgers.
const settle = 10 * time.Second
