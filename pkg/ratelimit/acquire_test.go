package ratelimit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptrace"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// call is one simulated request as the caller and the fake server saw it.
type call struct {
	seq                               int
	granted, wrote, arrived, answered time.Time
}

// sim is a fake ActiveCampaign that counts a request when it arrives, somewhere
// between its write and its answer, and the callers that keep it busy. Every
// duration function gets the request's sequence number (1-based, in the order
// the callers asked for a slot).
type sim struct {
	callers, requests int
	untraced          bool                        // callers do not send with Acquire's context
	connect           func(seq int) time.Duration // from grant to write (connection setup)
	transit           func(seq int) time.Duration // from write to arrival; nil: anywhere the limiter allows (latest)
	serve             func(seq int) time.Duration // from arrival (transit) or write (no transit) to answer
}

// run sends s.requests requests from s.callers goroutines at once, caller i
// through ls[i % len(ls)] (Limiters sharing a Ledger, or just one).
func (s sim) run(t *testing.T, ls ...*Limiter) []call {
	t.Helper()
	var (
		next  atomic.Int64
		mu    sync.Mutex
		calls []call
		wg    sync.WaitGroup
	)
	for i := range s.callers {
		l := ls[i%len(ls)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				seq := int(next.Add(1))
				if seq > s.requests {
					return
				}
				c, err := s.one(l, seq)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				calls = append(calls, c)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return calls
}

// one sends one request. Each time is taken before the limiter hears of the
// event, so the limiter's own times are never earlier than the ones checked.
func (s sim) one(l *Limiter, seq int) (call, error) {
	ctx, done, err := l.Acquire(context.Background())
	if err != nil {
		return call{}, err
	}
	defer done()
	c := call{seq: seq, granted: time.Now()}
	trace := httptrace.ContextClientTrace(ctx)
	if s.untraced {
		trace = &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) {}, GotFirstResponseByte: func() {}}
	}
	time.Sleep(s.connect(seq))
	c.wrote = time.Now()
	trace.WroteRequest(httptrace.WroteRequestInfo{})
	if s.transit != nil {
		c.arrived = c.wrote.Add(s.transit(seq))
		time.Sleep(time.Until(c.arrived))
	}
	time.Sleep(s.serve(seq))
	c.answered = time.Now()
	trace.GotFirstResponseByte()
	if s.transit == nil {
		c.arrived = anywhere(c.granted, latest(c, l.jitter, s.untraced))
	}
	return c, nil
}

// latest is the last moment c may arrive at the server: its answer, and with a
// trace no later than the jitter after its write. (Under load the simulated
// answer can come well after that: this is the model, not a measurement.)
func latest(c call, jitter time.Duration, untraced bool) time.Time {
	if bound := c.wrote.Add(jitter); !untraced && bound.Before(c.answered) {
		return bound
	}
	return c.answered
}

// anywhere returns from or to, or a uniform draw in between, a third of the time
// each: the ends are where arrivals bunch up.
func anywhere(from, to time.Time) time.Time {
	return from.Add(extreme(to.Sub(from)))
}

// overLimit describes the first window that saw more than n arrivals, or returns "".
func overLimit(calls []call, n int) string {
	arrivals := make([]time.Time, len(calls))
	for i, c := range calls {
		arrivals[i] = c.arrived
	}
	slices.SortFunc(arrivals, time.Time.Compare)
	for i := n; i < len(arrivals); i++ {
		if d := arrivals[i].Sub(arrivals[i-n]); d < window {
			return fmt.Sprintf("%d arrivals within %v (arrivals %d to %d of %d)", n+1, d, i-n+1, i+1, len(arrivals))
		}
	}
	return ""
}

// extreme returns 0 or d, or a uniform draw in between, a third of the time each:
// the ends are where arrivals bunch up.
func extreme(d time.Duration) time.Duration {
	switch rand.IntN(3) {
	case 0:
		return 0
	case 1:
		return d
	}
	return rand.N(d + 1)
}

// between returns a uniform draw in [lo, hi].
func between(lo, hi time.Duration) time.Duration { return lo + rand.N(hi-lo+1) }

// newConnection delays one request in four by 50-200 ms before its write, as a
// new TCP and TLS connection does.
func newConnection(int) time.Duration {
	if rand.IntN(4) == 0 {
		return between(50*time.Millisecond, 200*time.Millisecond)
	}
	return 0
}

// TestNeverOverLimitAtServer bursts many callers at a fake server that counts
// each request at its arrival, with fast and slow answers, and fails if any
// window of one second sees more than the limit.
func TestNeverOverLimitAtServer(t *testing.T) {
	t.Parallel()
	const base = 20 * time.Millisecond // common one-way delay, unknown to the limiter
	withinJitter := func(int) time.Duration { return base + extreme(DefaultJitter) }
	fast := func(int) time.Duration { return between(200*time.Microsecond, 3*time.Millisecond) }
	slow := func(int) time.Duration { return between(200*time.Millisecond, 400*time.Millisecond) }
	tests := []struct {
		name string
		n    int
		opts []Option
		sim  sim
	}{
		{"fast answers, arrival anywhere before the answer", 5, nil,
			sim{callers: 30, requests: 30, connect: newConnection, serve: fast}},
		{"fast answers, limit 10", 10, nil,
			sim{callers: 50, requests: 60, connect: newConnection, serve: fast}},
		{"slow answers with jitter, transit within the jitter bound", 5, nil,
			sim{callers: 30, requests: 30, connect: newConnection, transit: withinJitter, serve: slow}},
		{"fast and slow answers mixed", 5, nil,
			sim{callers: 30, requests: 30, connect: newConnection, transit: withinJitter, serve: func(seq int) time.Duration {
				if rand.IntN(2) == 0 {
					return fast(seq)
				}
				return slow(seq)
			}}},
		// The limiter sees how late a request was from how much later than the
		// quickest of the last few it was answered: some must not be held up.
		{"slow answers, every other one held up by up to 150 ms before it arrives", 5, nil,
			sim{callers: 30, requests: 30, connect: newConnection,
				transit: func(seq int) time.Duration { return base + extreme(150*time.Millisecond)*time.Duration(seq%2) },
				serve:   func(int) time.Duration { return 300 * time.Millisecond }}},
		{"slow answers, no jitter bound: arrival anywhere before the answer", 5, []Option{WithJitter(time.Hour)},
			sim{callers: 30, requests: 20, connect: newConnection, serve: slow}},
		{"slow answers, caller does not trace: arrival anywhere before done", 5, nil,
			sim{callers: 30, requests: 20, untraced: true, connect: newConnection, serve: slow}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bubble(t, func(t *testing.T) {
				calls := tt.sim.run(t, New(tt.n, tt.opts...))
				if len(calls) != tt.sim.requests {
					t.Fatalf("%d requests done, want %d", len(calls), tt.sim.requests)
				}
				if msg := overLimit(calls, tt.n); msg != "" {
					t.Errorf("limit %d exceeded at the server: %s", tt.n, msg)
				}
			})
		})
	}
}

// TestOverLimitDetected runs the same check against a limiter told that transit
// never varies (jitter 0) while it does by 300 ms, and that learns nothing from
// answer times (it has seen answers come after an hour): the check must see it.
func TestOverLimitDetected(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T) {
		l := New(1, WithJitter(0))
		for range len(l.rtts) {
			l.observeLocked(time.Hour)
		}
		s := sim{callers: 1, requests: 2,
			connect: func(int) time.Duration { return 0 },
			transit: func(seq int) time.Duration {
				if seq == 1 {
					return 300 * time.Millisecond
				}
				return 0
			},
			serve: func(int) time.Duration { return time.Millisecond },
		}
		calls := s.run(t, l)
		if msg := overLimit(calls, 1); msg == "" {
			t.Fatalf("no window over the limit found, arrivals %v apart", calls[1].arrived.Sub(calls[0].arrived))
		}
	})
}

// TestLoneCallerBursts: with an empty window, a lone caller's N requests all go
// at once; the next one waits for the first slot to come free.
func TestLoneCallerBursts(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T) {
		const n = 5
		l := New(n)
		for seq := 1; seq <= n; seq++ {
			if p, wait, _ := l.take(false); p == nil {
				t.Fatalf("request %d of %d must wait %v, want none", seq, n, wait)
			}
		}
		l = New(n)
		s := sim{callers: 1, requests: n + 1, connect: func(int) time.Duration { return 0 },
			serve: func(int) time.Duration { return time.Millisecond }}
		calls := s.run(t, l)
		firsts := calls[:n]
		if span := firsts[n-1].granted.Sub(firsts[0].granted); span > window/2 {
			t.Errorf("%d requests of a lone caller took %v to start, want back to back", n, span)
		}
		free := earlier(firsts[0].answered, firsts[0].wrote.Add(DefaultJitter)).Add(window)
		if last := calls[n]; last.granted.Before(free) {
			t.Errorf("request %d started %v before the first one's slot came free", n+1, free.Sub(last.granted))
		}
	})
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// TestSlotRelease checks when a request's slot comes free, from what the limiter
// was told about it.
func TestSlotRelease(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	l := New(1, WithJitter(30*time.Millisecond))
	tests := []struct {
		name   string
		p      permit
		want   time.Time
		wantOK bool
	}{
		{"in flight, not written", permit{}, time.Time{}, false},
		{"written, no answer yet", permit{wrote: at(0)}, at(1030), true},
		{"answered fast", permit{wrote: at(0), answered: at(2), finished: at(3)}, at(1002), true},
		{"answered slowly", permit{wrote: at(0), answered: at(300), finished: at(301)}, at(1030), true},
		{"answered slowly, held up on the way", permit{wrote: at(0), answered: at(350), late: 50 * time.Millisecond}, at(1080), true},
		{"answered before the quickest was known", permit{wrote: at(0), answered: at(300), late: 300 * time.Millisecond}, at(1300), true},
		{"failed after the write", permit{wrote: at(0), finished: at(5)}, at(1030), true},
		{"done without trace", permit{finished: at(300)}, at(1300), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			p.l = l
			got, ok := p.releaseLocked()
			if ok != tt.wantOK || !got.Equal(tt.want) {
				t.Errorf("release = %v, %v; want %v, %v", got.Sub(t0), ok, tt.want.Sub(t0), tt.wantOK)
			}
		})
	}
}

// TestLateness: until eight answers were seen they are compared with 0, then
// with the quickest of the last eight.
func TestLateness(t *testing.T) {
	t.Parallel()
	l := New(5)
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	for i := range len(l.rtts) - 1 {
		if got := l.observeLocked(ms(300 + i)); got != ms(300+i) {
			t.Fatalf("answer %d: late = %v, want all of it while the quickest is unknown", i+1, got)
		}
	}
	for _, tt := range []struct{ rtt, want int }{{307, 7}, {350, 49}, {303, 1}, {290, 0}, {300, 10}} {
		if got := l.observeLocked(ms(tt.rtt)); got != ms(tt.want) {
			t.Errorf("answer after %d ms: late = %v, want %d ms", tt.rtt, got, tt.want)
		}
	}
}

func TestAcquireContext(t *testing.T) {
	t.Parallel()
	bubble(t, func(t *testing.T) {
		l := New(1)
		_, done, err := l.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, _, err := l.Acquire(ctx); err != context.DeadlineExceeded {
			t.Fatalf("second Acquire while the first is in flight = %v, want the context's error", err)
		}
		done()
		l.mu.Lock()
		finished := l.held[0].finished
		l.mu.Unlock()
		done() // a second call is a no-op
		l.mu.Lock()
		defer l.mu.Unlock()
		if len(l.held) != 1 || !l.held[0].finished.Equal(finished) || finished.IsZero() {
			t.Fatalf("held = %d, finished changed by the second done or unset", len(l.held))
		}
	})
}
