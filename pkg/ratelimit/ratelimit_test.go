package ratelimit

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"
)

// maxInWindow returns the largest number of times that fall within any window of length d.
func maxInWindow(ts []time.Time, d time.Duration) int {
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= d {
			j++
		}
		if n := i - j + 1; n > best {
			best = n
		}
	}
	return best
}

func TestNewInterval(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		n    int
		want time.Duration
	}{
		{"five", 5, 204 * time.Millisecond},
		{"ten", 10, 102 * time.Millisecond},
		{"zero means one", 0, 1020 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := New(tt.n).Interval(); got != tt.want {
				t.Errorf("Interval() = %v, want %v", got, tt.want)
			}
			if got := New(tt.n).Interval() * time.Duration(max(tt.n, 1)); got <= time.Second {
				t.Errorf("n intervals = %v, want > 1s", got)
			}
		})
	}
}

func TestWaitConcurrentNeverExceedsRate(t *testing.T) {
	t.Parallel()
	const n, workers, perWorker = 5, 8, 2
	l := New(n)
	var (
		mu    sync.Mutex
		times []time.Time
		wg    sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perWorker {
				if err := l.Wait(context.Background()); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				times = append(times, time.Now())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if got := len(times); got != workers*perWorker {
		t.Fatalf("passes = %d, want %d", got, workers*perWorker)
	}
	if got := maxInWindow(times, time.Second); got > n {
		t.Errorf("max starts in 1s window = %d, want <= %d", got, n)
	}
	// 16 starts at 204ms spacing take at least 15 intervals.
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	if span, min := times[len(times)-1].Sub(times[0]), 15*l.Interval()-5*time.Millisecond; span < min {
		t.Errorf("span = %v, want >= %v", span, min)
	}
}

func TestPause(t *testing.T) {
	t.Parallel()
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
			if err := l.Wait(context.Background()); err != nil {
				t.Error(err)
			}
			if now := time.Now(); now.Before(until) {
				t.Errorf("Wait returned %v before pause end", until.Sub(now))
			}
		}()
	}
	wg.Wait()
}

func TestPauseWhileWaiting(t *testing.T) {
	t.Parallel()
	l := New(2) // slots 510ms apart
	_ = l.Wait(context.Background())
	done := make(chan time.Time)
	go func() {
		_ = l.Wait(context.Background()) // slot in ~510ms
		done <- time.Now()
	}()
	time.Sleep(50 * time.Millisecond)
	l.Pause(800 * time.Millisecond)
	until := l.PausedUntil()
	if got := <-done; got.Before(until) {
		t.Errorf("waiter passed %v before the pause ended", until.Sub(got))
	}
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
		})
	}
}
