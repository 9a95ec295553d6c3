package queue

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"
)

func TestLoadAhead(t *testing.T) {
	tests := []struct {
		name    string
		rounds  []time.Duration
		pending int64
		workers int
		want    time.Duration
	}{
		{"no round seen yet", nil, 50, 10, 0},
		{"nothing pending", []time.Duration{time.Second}, 0, 10, 0},
		{"one wave", []time.Duration{time.Second}, 7, 10, time.Second},
		{"three waves", []time.Duration{2 * time.Second}, 25, 10, 6 * time.Second},
		{"moving average", []time.Duration{time.Second, 2 * time.Second}, 10, 10, 1200 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l load
			for _, d := range tt.rounds {
				l.observeRound(d)
			}
			l.pending.Store(tt.pending)
			if got := l.ahead(tt.workers); got.Round(time.Millisecond) != tt.want {
				t.Errorf("ahead = %v, want %v", got, tt.want)
			}
		})
	}
}

// A webhook that cannot finish within its wait, given the work ahead of it,
// is answered at once; one that can is waited for.
func TestWaitGivesUpAtOnceBehindABacklog(t *testing.T) {
	e := openEnv(t, "", nil, nil, fastOptions()) // not started: nothing is worked
	var last int64
	for i := range 30 {
		last = e.submit(hook(fmt.Sprint(100+i), "add")).WebhookID
	}
	const wait = 3 * time.Second
	e.q.load.observeRound(time.Second) // 30 pending, 10 workers: about 3 s ahead

	start := time.Now()
	o, err := e.q.Wait(context.Background(), last, wait)
	if err != nil || o.Final() {
		t.Fatalf("Wait = %+v, %v", o, err)
	}
	if took := time.Since(start); took > wait/2 {
		t.Errorf("Wait behind a backlog took %v, want an answer at once", took)
	}

	// A lone webhook and rounds of 100 ms: waited for (here until the wait
	// ends, as nothing is worked).
	e.q.load.pending.Store(1)
	e.q.load.round.Store(math.Float64bits(0.1))
	start = time.Now()
	if _, err := e.q.Wait(context.Background(), last, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("Wait for a lone webhook returned after %v, before its wait ended", took)
	}
}
