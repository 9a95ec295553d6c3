package admission

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// loadRound is a round a load test runs, one after the other.
type loadRound struct {
	d        time.Duration
	requests uint64 // AC requests it sends
}

// loadArrival is a webhook stored at an offset from the test's start.
type loadArrival struct {
	at      time.Duration
	contact string
}

// arrivals are webhooks for n contacts, every gap from start on.
func arrivals(prefix string, n int, start, gap time.Duration) []loadArrival {
	out := make([]loadArrival, n)
	for i := range out {
		out[i] = loadArrival{at: start + time.Duration(i)*gap, contact: fmt.Sprint(prefix, i)}
	}
	return out
}

func TestLoadAhead(t *testing.T) {
	same := func(n int) []loadArrival { // n webhooks of one contact, at once
		out := make([]loadArrival, n)
		for i := range out {
			out[i] = loadArrival{contact: "c"}
		}
		return out
	}
	tests := []struct {
		name     string
		rounds   []loadRound   // run alone, before the arrivals
		arrivals []loadArrival // stored in order, each as its own batch
		finished []string      // contacts, one webhook each, finished after the arrivals
		now      time.Duration // when the estimate is made
		rate     float64
		workers  int
		want     time.Duration
	}{
		{name: "nothing pending", rounds: []loadRound{{time.Second, 3}}, rate: 5, workers: 10, want: 0},
		{name: "lone webhook, no round yet: the prior's 2 requests",
			arrivals: arrivals("a", 1, 0, 0), rate: 5, workers: 10, want: 400 * time.Millisecond},
		{name: "lone webhook, rounds of 3 requests",
			rounds: []loadRound{{100 * time.Millisecond, 3}}, arrivals: arrivals("a", 1, 0, 0), rate: 5, workers: 10,
			want: 600 * time.Millisecond},
		{name: "lone webhook, slow rounds: their duration",
			rounds: []loadRound{{2 * time.Second, 3}}, arrivals: arrivals("a", 1, 0, 0), rate: 5, workers: 10,
			want: 2 * time.Second},
		{name: "10 contacts pending, none arriving since: the budget they need",
			rounds:   []loadRound{{100 * time.Millisecond, 3}},
			arrivals: arrivals("a", 10, 0, 0), now: time.Hour, rate: 5, workers: 10, want: 6 * time.Second},
		{name: "10 webhooks of one contact are one round",
			rounds: []loadRound{{100 * time.Millisecond, 3}}, arrivals: same(10), rate: 5, workers: 10,
			want: 600 * time.Millisecond},
		{name: "webhooks that finished are not ahead",
			rounds:   []loadRound{{100 * time.Millisecond, 3}},
			arrivals: arrivals("a", 3, 0, 0), finished: []string{"a0", "a1"}, now: time.Hour, rate: 5, workers: 10,
			want: 600 * time.Millisecond},
		{name: "second of a burst: one arrival a second slows it",
			arrivals: arrivals("a", 2, 0, 0), rate: 5, workers: 10,
			want: 1333 * time.Millisecond}, // 2 rounds × 0.4 s / (1 - 1/s × 0.4 s)
		{name: "third of a burst 20/s: arrivals outrun the budget, every worker's round",
			rounds:   []loadRound{{100 * time.Millisecond, 3}},
			arrivals: arrivals("a", 3, 0, 50*time.Millisecond), now: 100 * time.Millisecond, rate: 5, workers: 10,
			want: 7200 * time.Millisecond}, // (3 + 10 - 1) rounds × 0.6 s
		{name: "arrivals long past no longer count",
			rounds:   []loadRound{{100 * time.Millisecond, 3}},
			arrivals: arrivals("a", 3, 0, 50*time.Millisecond), now: time.Hour, rate: 5, workers: 10,
			want: 1800 * time.Millisecond},
		{name: "AC budget unknown: waves of rounds",
			rounds: []loadRound{{time.Second, 3}}, arrivals: arrivals("a", 30, 0, 0), rate: 0, workers: 10,
			want: 3 * time.Second},
		{name: "rounds without AC requests: waves of rounds",
			rounds: []loadRound{{2 * time.Second, 0}}, arrivals: arrivals("a", 25, 0, 0), rate: 5, workers: 10,
			want: 6 * time.Second},
		{name: "moving averages",
			rounds:   []loadRound{{time.Second, 1}, {2 * time.Second, 6}},
			arrivals: arrivals("a", 10, 0, 0), now: time.Hour, rate: 5, workers: 10,
			want: 4 * time.Second}, // 10 rounds × 2 requests (1 + 0.2 × (6 - 1)) / 5 per second
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l load
			var sent uint64
			for _, r := range tt.rounds {
				tok := l.roundStarted(sent)
				sent += r.requests
				l.roundEnded(tok, r.d, sent)
			}
			t0 := time.Now()
			for _, a := range tt.arrivals {
				l.stored(-1, []string{a.contact}, t0.Add(a.at))
			}
			for _, c := range tt.finished {
				l.finished(c, 1)
			}
			got := l.ahead(tt.workers, tt.rate, t0.Add(tt.now))
			if got.Round(time.Millisecond) != tt.want {
				t.Errorf("ahead = %v, want %v", got, tt.want)
			}
		})
	}
}

// Rounds running side by side mix their AC requests; the average is still
// the requests per round. Requests sent while no round runs are no round's.
func TestLoadRequestsPerRound(t *testing.T) {
	var l load
	sent := uint64(7) // before any round (e.g. a check at start)
	a := l.roundStarted(sent)
	b := l.roundStarted(sent)
	sent += 5 // a's 3 and b's 2, a ends first
	l.roundEnded(a, time.Second, sent)
	l.roundEnded(b, time.Second, sent)
	// a counted 5, b 0: 5, then 5 + 0.2 × (0 - 5) = 4.
	if l.requests != 4 {
		t.Fatalf("requests per round = %v after the side-by-side rounds, want 4", l.requests)
	}
	for range 2 {
		sent += 10 // between rounds
		tok := l.roundStarted(sent)
		sent += 3
		l.roundEnded(tok, time.Second, sent)
	}
	// 4 + 0.2 × (3 - 4) = 3.8, then 3.8 + 0.2 × (3 - 3.8) = 3.64.
	if want := 3.64; math.Abs(l.requests-want) > 1e-9 {
		t.Errorf("requests per round = %v, want %v", l.requests, want)
	}
}

// A round stretched by other rounds does not make the next lone webhook look
// slow: only rounds that ran alone estimate a lone round.
func TestLoadLoneRoundAfterABacklog(t *testing.T) {
	var l load
	tok := l.roundStarted(0)
	l.roundEnded(tok, 300*time.Millisecond, 0) // alone
	for range 20 {                             // a backlog: rounds side by side, 6 s each
		a, b := l.roundStarted(0), l.roundStarted(0)
		l.roundEnded(a, 6*time.Second, 0)
		l.roundEnded(b, 6*time.Second, 0)
	}
	l.stored(0, []string{"lone"}, time.Now())
	if got := l.ahead(10, 5, time.Now()); got != 300*time.Millisecond {
		t.Errorf("lone webhook after a backlog: ahead = %v, want the lone round's 300ms", got)
	}
	l.stored(-1, []string{"other"}, time.Now().Add(-time.Hour))
	if got := l.ahead(10, 5, time.Now()); got < 5*time.Second {
		t.Errorf("two rounds after a backlog: ahead = %v, want a whole (stretched) round", got)
	}
}

// The webhooks counted pending follow what is stored and finished, and a
// count from the database replaces them.
func TestLoadPendingBookkeeping(t *testing.T) {
	var l load
	now := time.Now()
	l.stored(-1, []string{"a", "a", "b"}, now)
	if l.pending != 3 || l.dupes != 1 {
		t.Fatalf("after a, a, b: pending %d dupes %d, want 3 and 1", l.pending, l.dupes)
	}
	l.finished("a", 2) // one round covered both
	if l.pending != 1 || l.dupes != 0 || l.contacts["a"] != 0 {
		t.Fatalf("after a's round: pending %d dupes %d a %d, want 1, 0, 0", l.pending, l.dupes, l.contacts["a"])
	}
	l.finished("imported", 5) // stored by another process
	if l.pending != 0 || len(l.contacts) != 1 {
		t.Fatalf("after 5 others finished: pending %d contacts %v, want 0 and b", l.pending, l.contacts)
	}
	l.stored(0, []string{"c"}, now) // the database counts none pending: b finished elsewhere
	if l.pending != 1 || len(l.contacts) != 1 || l.contacts["c"] != 1 {
		t.Errorf("after a count of 0 and c: pending %d contacts %v, want 1 and c only", l.pending, l.contacts)
	}
}

// TestLoadIdle: idle while nothing is pending or running.
func TestLoadIdle(t *testing.T) {
	var l load
	now := time.Now()
	if !l.idle() {
		t.Fatal("a fresh load is not idle")
	}
	l.stored(-1, []string{"a", "a"}, now)
	if l.idle() {
		t.Error("idle with two webhooks pending")
	}
	tok := l.roundStarted(0)
	l.finished("a", 2)
	if l.idle() {
		t.Error("idle with a round running")
	}
	l.roundEnded(tok, time.Millisecond, 0)
	if !l.idle() {
		t.Errorf("not idle after the round finished: pending %d running %d", l.pending, l.running)
	}
}
