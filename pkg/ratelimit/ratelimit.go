// Package ratelimit keeps outgoing requests within an account-wide limit such as
// ActiveCampaign's "5 requests per second", counted the way the server counts them:
// at most N requests arriving within any sliding window of one second. A lone
// caller's requests go out back to back; under a backlog the limiter sends as many
// as the rule allows, and any caller can pause everyone after a 429
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
// A request holds its slot from when it goes until one window after the latest
// time it can have arrived at the server, as bounded by the httptrace events on
// Acquire's context (written, answered) and by network jitter; the rule and its
// proof are in docs/ratelimit.md. Limiters in several processes keep one
// limit together by sharing a Ledger (WithLedger).
package ratelimit

import (
	"context"
	"sync"
	"time"
)

// window is the span in which at most perSecond requests may arrive.
const window = time.Second

// DefaultJitter is the default bound on how much longer, from write to arrival at
// the server, one request may take than another (see docs/ratelimit.md). It covers
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
