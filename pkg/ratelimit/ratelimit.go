// Package ratelimit keeps outgoing requests within an account-wide limit such as
// ActiveCampaign's "5 requests per second", counted the way the server counts them:
// at most N requests arriving within any sliding window of one second. A lone
// caller's requests go out back to back; under a backlog the limiter sends as many
// as the rule below allows, and any caller can pause everyone after a 429
// Retry-After.
//
//	lim := ratelimit.New(5)
//	ctx, done, err := lim.Acquire(ctx)
//	if err != nil {
//		return err // ctx ended first
//	}
//	defer done()
//	// ... send the request with ctx; on 429: lim.Pause(retryAfter)
//
// # The rule, and why it holds
//
// The server counts a request when it arrives, at an unknown time a. What the
// limiter knows of request i: t(i), when it let i go; w(i), when i was written to
// the connection; f(i), when the first byte of its answer came back (httptrace
// WroteRequest and GotFirstResponseByte on the context Acquire returns). So
// t(i) <= w(i) <= a(i) <= f(i).
//
// These bounds alone cost a quarter of the budget against a slow API: if every
// request takes L from write to answer, any N+1 requests written within W+L of
// each other (W the window) may all arrive within one window, the first at its
// answer and the others at their writes, so a limiter that trusts nothing else
// sends at most N per W+L: 77 % at L = 300 ms. But a slow server spends that time
// after the request arrived; what differs between two requests is the way there.
// The limiter therefore assumes that the delay from write to arrival,
// d(i) = a(i) - w(i), of one request exceeds another's by at most J + x(i):
//   - J, the jitter (DefaultJitter unless WithJitter), for the network;
//   - x(i), how much longer i took from write to answer than the quickest of the
//     last 8 answered requests, for a request held up on its way (a busy server
//     or network queue) is answered that much later too, as long as the server's
//     time from counting to answering varies little. x(i) is 0 if i is not
//     answered within J+W of its write; until 8 answers were seen they are
//     compared with 0, so every request holds its slot until its answer.
//
// Request i holds a slot until r(i) = min(f(i), w(i)+J+x(i)) + W, and a request
// may go only while fewer than N slots are held. Before i's answer the limiter
// counts r(i) as w(i)+J+W (never before the write), which is r(i) itself
// whenever the answer comes later than that, and otherwise a time the answer is
// known by. Suppose N+1 requests arrive within one window, and let n be the one
// let go last. For each other one, i: a(n) >= t(n) + d(n) and
// a(i) <= min(f(i), w(i) + d(n) + J + x(i)), so a(n) - a(i) < W gives
// t(n) < min(f(i) - d(n), w(i)+J+x(i)) + W <= r(i): when n went, all N others
// held their slot. The rule forbids exactly that, so no window at the server sees
// more than N requests.
//
// A request holds its slot for about W + min(L, J) after its write: one window
// plus ~1 ms against a fast API, plus J (3 % of the window by default) against a
// slow one, whatever its latency, and plus x(i) when its answer shows it was held
// up. A caller that does not send with Acquire's context tells the limiter
// nothing: its request holds the slot until W after done, which is always safe.
//
// Wait is for callers without a done: their request counts as written when Wait
// returns and holds its slot until W+J later. After a restart, FillWindow counts N
// requests as written at once, since the previous process's last requests (all
// written before it stopped) may still arrive up to J later.
//
// # Several processes, one limit
//
// Limiters in several processes that share one account's limit share a Ledger
// (WithLedger): a record of the held slots and of the pause, such as a table in
// a database they all use. Each Limiter works out its own requests' slots as
// above and tells the ledger, which grants a slot only while fewer than N are
// held by all of them together; a Pause pauses them all. See Ledger for how
// times cross between processes whose clocks differ.
package ratelimit

import (
	"context"
	"sync"
	"time"
)

// window is the span in which at most perSecond requests may arrive.
const window = time.Second

// DefaultJitter is the default bound on how much longer, from write to arrival at
// the server, one request may take than another (see the package doc). It covers
// network jitter on an open connection and clock drift; connection setup comes
// before the write and is not part of it.
const DefaultJitter = 30 * time.Millisecond

// Limiter lets at most perSecond requests arrive at the server in any one-second
// window, shared by all goroutines, and can be paused for everyone. The zero value
// is not usable; use New.
type Limiter struct {
	perSecond int
	jitter    time.Duration
	ledger    Ledger        // shared slots and pause (WithLedger), or nil: in memory
	turn      chan struct{} // with a ledger: held by the one caller asking it

	mu          sync.Mutex
	pausedUntil time.Time
	held        []*permit     // requests that may still share a window with the next one
	changed     chan struct{} // closed when a slot may have come free or its end became known
	rtts        [8]time.Duration
	nrtt        int // times from write to answer observed, the last len(rtts) in rtts
}

// Option configures a Limiter.
type Option func(*Limiter)

// WithJitter sets the bound J on how much the time from write to arrival may vary
// between requests (default DefaultJitter; d < 0 counts as 0). A very large d makes
// every request hold its slot until one window after its answer.
func WithJitter(d time.Duration) Option {
	return func(l *Limiter) { l.jitter = max(d, 0) }
}

// New returns a Limiter that lets at most perSecond requests arrive at the server in
// any one-second window. perSecond < 1 is treated as 1.
func New(perSecond int, opts ...Option) *Limiter {
	l := &Limiter{perSecond: max(perSecond, 1), jitter: DefaultJitter}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Wait blocks until the caller may start a request; the request counts as written
// at once and holds its slot for one window and the jitter. It returns ctx's error
// if ctx ends first. Prefer Acquire, which frees the slot as soon as it is safe.
func (l *Limiter) Wait(ctx context.Context) error {
	_, err := l.acquire(ctx, true)
	return err
}

// Pause stops every Wait and Acquire from returning before now+d. It extends, and
// never shortens, a pause already in force. d <= 0 is a no-op. With a Ledger the
// pause is recorded there too, and every Limiter sharing it pauses.
func (l *Limiter) Pause(d time.Duration) {
	if d <= 0 {
		return
	}
	until := time.Now().Add(d)
	l.mu.Lock()
	if until.After(l.pausedUntil) {
		l.pausedUntil = until // waiters see it when they wake
	}
	l.mu.Unlock()
	if l.ledger != nil {
		l.pauseShared(d)
	}
}

// PausedUntil reports the end of the current pause set through this Limiter (zero
// or past when not paused); a pause set by another Limiter on a shared Ledger is
// not included.
func (l *Limiter) PausedUntil() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pausedUntil
}

// FillWindow counts perSecond requests as written now, as after a restart: the
// previous process's requests of its last second are unknown, and the first new
// request goes one window and the jitter later. With a Ledger it is not needed
// (the ledger keeps the slots of a process that stopped) and has no effect.
func (l *Limiter) FillWindow() {
	if l.ledger != nil {
		return
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for range l.perSecond {
		l.held = append(l.held, &permit{l: l, wrote: now})
	}
	l.signalLocked()
}

// signalLocked wakes every waiter to look again.
func (l *Limiter) signalLocked() {
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
}
