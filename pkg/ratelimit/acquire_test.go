package ratelimit

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestAcquireHoldsWithDelayedArrivals delays each request between its start
// and its arrival at the "server" by up to 150ms, as a busy machine can; no
// 1s window at the server may see more than the limit.
func TestAcquireHoldsWithDelayedArrivals(t *testing.T) {
	const perSecond, n = 10, 30
	l := New(perSecond)
	var mu sync.Mutex
	var arrivals []time.Time
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done, err := l.Acquire(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			defer done()
			time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond)
			mu.Lock()
			arrivals = append(arrivals, time.Now())
			mu.Unlock()
			time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
		}()
	}
	wg.Wait()
	slices.SortFunc(arrivals, func(a, b time.Time) int { return a.Compare(b) })
	for i := perSecond; i < len(arrivals); i++ {
		if d := arrivals[i].Sub(arrivals[i-perSecond]); d < time.Second {
			t.Fatalf("%d arrivals within %s", perSecond+1, d)
		}
	}
}

func TestAcquireContext(t *testing.T) {
	l := New(1)
	done, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.Acquire(ctx); err == nil {
		t.Fatal("second Acquire within the window succeeded, want the context's error")
	}
	done()
	done() // a second call is a no-op
	l.mu.Lock()
	inFlight := l.inFlight
	l.mu.Unlock()
	if inFlight != 0 {
		t.Fatalf("in flight = %d after done, want 0", inFlight)
	}
}
