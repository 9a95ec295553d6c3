package ratelimit

import (
	"context"
	"net/http/httptrace"
	"slices"
	"sync"
	"time"
)

// permit is one request's slot. Its fields are zero while unknown and are
// written under the Limiter's mutex.
type permit struct {
	l        *Limiter
	wrote    time.Time     // last write of the request to a connection
	answered time.Time     // first byte of the answer
	late     time.Duration // how much longer than the quickest recent request it took to answer
	finished time.Time     // done called
	free     bool          // given back unused (Reserve, or a ledger slot taken as ctx ended)

	// With a Ledger (see ledger.go):
	slot    int64       // the ledger's slot
	dirty   bool        // the ledger has not heard of the latest end
	syncing bool        // a goroutine is telling the ledger
	sent    bool        // sentEnd was sent to the ledger
	sentEnd time.Time   // zero: free
	renew   *time.Timer // renews the lease while the write is unknown
}

// The events a permit hears of.
const (
	wrote = iota
	answered
	finished
)

// releaseLocked returns when the slot comes free (see docs/ratelimit.md), and false
// while that is not known yet.
func (p *permit) releaseLocked() (time.Time, bool) {
	switch {
	case p.free:
		return time.Time{}, true // given back unused: free now
	case !p.wrote.IsZero():
		end := p.wrote.Add(p.l.jitter + p.late)
		if !p.answered.IsZero() && p.answered.Before(end) {
			end = p.answered
		}
		return end.Add(window), true
	case !p.finished.IsZero():
		// Nothing traced: the answer, or the failure, came before done.
		return p.finished.Add(window), true
	}
	return time.Time{}, false
}

// hear records an event at the current time and wakes the waiters.
func (p *permit) hear(event int) {
	now := time.Now()
	l := p.l
	l.mu.Lock()
	defer l.mu.Unlock()
	switch event {
	case wrote:
		p.wrote = now
	case answered:
		p.answered = now
		if !p.wrote.IsZero() {
			p.late = l.observeLocked(now.Sub(p.wrote))
		}
	case finished:
		p.finished = now
	}
	if p.slot != 0 {
		p.syncLocked() // wakes the waiters once the ledger knows
		return
	}
	l.signalLocked()
}

// observeLocked records a request's time from write to answer and returns how much
// longer it was than the quickest of the last len(l.rtts) (counting 0 for each
// one not seen yet: until then a request holds its slot until its answer).
func (l *Limiter) observeLocked(rtt time.Duration) time.Duration {
	l.rtts[l.nrtt%len(l.rtts)] = rtt
	l.nrtt++
	return rtt - slices.Min(l.rtts[:])
}

// Acquire blocks until the caller may send a request, and returns the context to
// send it with and done, to call once the answer arrived or the request failed
// (later calls of done do nothing). The context carries an httptrace.ClientTrace
// that tells the limiter when the request was written and answered, so that its
// slot comes free as early as is safe; a request not sent with it holds its slot
// until one window after done. Acquire returns ctx's error if ctx ends first.
// The first Acquire with a context from Reserve takes the reserved slot.
func (l *Limiter) Acquire(ctx context.Context) (context.Context, func(), error) {
	p := l.reserved(ctx)
	if p == nil {
		var err error
		if p, err = l.acquire(ctx, false); err != nil {
			return nil, nil, err
		}
	}
	trace := &httptrace.ClientTrace{
		WroteRequest:         func(httptrace.WroteRequestInfo) { p.hear(wrote) },
		GotFirstResponseByte: func() { p.hear(answered) },
	}
	done := sync.OnceFunc(func() { p.hear(finished) })
	return httptrace.WithClientTrace(ctx, trace), done, nil
}

// acquire waits for a slot and takes it; written says the request counts as
// written at once (Wait).
func (l *Limiter) acquire(ctx context.Context, written bool) (*permit, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if l.ledger != nil {
		return l.acquireShared(ctx, written)
	}
	for {
		p, wait, changed := l.take(written)
		if p != nil {
			return p, nil
		}
		if err := sleep(ctx, wait, changed); err != nil {
			return nil, err
		}
	}
}

// take takes a slot if one is free and no pause is in force. Otherwise it says how
// long to wait at most (0: until changed) and returns a channel closed when the
// answer may change.
func (l *Limiter) take(written bool) (*permit, time.Duration, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	var next time.Time // earliest known end of a held slot, or of the pause
	if now.Before(l.pausedUntil) {
		next = l.pausedUntil
	} else {
		keep := l.held[:0]
		for _, p := range l.held {
			end, known := p.releaseLocked()
			switch {
			case !known:
				keep = append(keep, p)
			case end.After(now):
				keep = append(keep, p)
				if next.IsZero() || end.Before(next) {
					next = end
				}
			}
		}
		clear(l.held[len(keep):])
		l.held = keep
		if len(l.held) < l.perSecond {
			p := &permit{l: l}
			if written {
				p.wrote = now
			}
			l.held = append(l.held, p)
			return p, 0, nil
		}
	}
	if l.changed == nil {
		l.changed = make(chan struct{})
	}
	var wait time.Duration
	if !next.IsZero() {
		wait = max(next.Sub(now), time.Microsecond)
	}
	return nil, wait, l.changed
}

// sleep waits for changed, for d to pass (d > 0) or for ctx to end.
func sleep(ctx context.Context, d time.Duration, changed <-chan struct{}) error {
	var timeout <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-changed:
	case <-timeout:
	}
	return nil
}
