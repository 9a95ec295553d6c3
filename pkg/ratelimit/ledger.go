package ratelimit

import (
	"context"
	"time"
)

// Ledger holds the slots of the requests of every Limiter that shares it, and
// their pause, so that Limiters in several processes (each WithLedger on one
// table of a shared database, say) keep their requests together within one
// limit. Each Limiter still works out when its own requests' slots come free
// (see docs/ratelimit.md) and tells the ledger.
//
// Times cross the ledger as durations from the moment the ledger records them,
// on its own clock: the processes' clocks need not agree, and since a duration
// is measured before the call and applied after it, a slot is held a little
// longer than asked, never shorter. A ledger must record a change within
// LedgerMargin of the call; the Limiter holds a slot whose end may still grow
// (a request written and not yet answered) that much longer, so that the news
// of its later end arrives before the earlier one passes.
type Ledger interface {
	// Take holds a new slot for hold from now and returns its id (not 0), if
	// fewer than n slots are held and no pause is in force. Otherwise it
	// returns 0 and how long until a slot comes free or the pause ends, as far
	// as it knows (0: unknown).
	Take(ctx context.Context, n int, hold time.Duration) (slot int64, wait time.Duration, err error)
	// Hold holds slot for d from now instead of until its earlier end; d <= 0
	// frees it.
	Hold(ctx context.Context, slot int64, d time.Duration) error
	// Pause stops every Take from succeeding for d from now; it extends, and
	// never shortens, a pause in force.
	Pause(ctx context.Context, d time.Duration) error
}

// LedgerMargin is how long a Ledger may take to record a change (see Ledger).
const LedgerMargin = 100 * time.Millisecond

// Tunables of the shared mode.
const (
	// inFlightLease is how long the ledger holds the slot of a request whose
	// write is not known yet; the Limiter renews it every half lease, so that
	// the slot of a process that died comes free after at most this.
	inFlightLease = time.Minute
	// ledgerPoll is the longest a waiter sleeps before asking the ledger
	// again: another process may have freed a slot early.
	ledgerPoll = 50 * time.Millisecond
	// ledgerTimeout bounds each call to the ledger.
	ledgerTimeout = 10 * time.Second
	// holdRetry is how long after a failed Hold it is tried again, at most
	// holdRetries times.
	holdRetry   = time.Second
	holdRetries = 60
)

// WithLedger makes the Limiter share its slots and its pause through lg with
// every other Limiter on it (in this process or others). The Limiter's own
// rules are unchanged; FillWindow is not needed (the ledger remembers the
// slots of a process that stopped).
func WithLedger(lg Ledger) Option {
	return func(l *Limiter) {
		l.ledger = lg
		l.turn = make(chan struct{}, 1)
	}
}

// acquireShared waits for a slot of the ledger and takes it. One caller of
// the Limiter at a time asks the ledger; the others wait their turn.
func (l *Limiter) acquireShared(ctx context.Context, written bool) (*permit, error) {
	select {
	case l.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-l.turn }()
	for {
		l.mu.Lock()
		paused := time.Until(l.pausedUntil)
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		changed := l.changed
		l.mu.Unlock()
		if paused > 0 {
			if err := sleep(ctx, paused, changed); err != nil {
				return nil, err
			}
			continue
		}
		p, wait, err := l.takeShared(ctx, written)
		if p != nil || err != nil {
			return p, err
		}
		if wait <= 0 || wait > ledgerPoll {
			wait = ledgerPoll
		}
		if err := sleep(ctx, wait, changed); err != nil {
			return nil, err
		}
	}
}

// takeShared asks the ledger for a slot once. A slot taken while ctx ended is
// handed back.
func (l *Limiter) takeShared(ctx context.Context, written bool) (*permit, time.Duration, error) {
	hold := inFlightLease
	if written {
		hold = l.jitter + window + LedgerMargin
	}
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ledgerTimeout)
	slot, wait, err := l.ledger.Take(tctx, l.perSecond, hold)
	cancel()
	if err != nil {
		return nil, 0, err
	}
	if slot == 0 {
		return nil, wait, nil
	}
	p := &permit{l: l, slot: slot}
	if written {
		p.wrote = time.Now()
	}
	if err := ctx.Err(); err != nil {
		l.mu.Lock()
		p.free = true // nothing will be sent
		p.syncLocked()
		l.mu.Unlock()
		return nil, 0, err
	}
	if !written {
		l.mu.Lock()
		p.renew = time.AfterFunc(inFlightLease/2, p.renewLease)
		l.mu.Unlock()
	}
	return p, 0, nil
}

// ledgerEndLocked is when the ledger is to free p's slot: at its release,
// plus LedgerMargin while that may still grow, or a lease from now while the
// release is unknown; zero to free it now.
func (p *permit) ledgerEndLocked(now time.Time) time.Time {
	if p.free {
		return time.Time{}
	}
	end, known := p.releaseLocked()
	if !known {
		return now.Add(inFlightLease)
	}
	if p.answered.IsZero() && p.finished.IsZero() {
		end = end.Add(LedgerMargin)
	}
	return end
}

// syncLocked has the ledger learn p's current end, in the background and in
// order: the last end worked out is the one the ledger keeps.
func (p *permit) syncLocked() {
	p.dirty = true
	if !p.syncing {
		p.syncing = true
		go p.sync()
	}
}

// sync sends p's end to the ledger until it has the latest one (an end it
// has already is not sent again), then wakes the waiters: a slot may have
// come free. A failed call is tried again.
func (p *permit) sync() {
	l := p.l
	for failures := 0; ; {
		l.mu.Lock()
		if !p.dirty {
			p.syncing = false
			l.signalLocked()
			l.mu.Unlock()
			return
		}
		p.dirty = false
		now := time.Now()
		end := p.ledgerEndLocked(now)
		if p.sent && end.Equal(p.sentEnd) {
			l.mu.Unlock()
			continue
		}
		p.sent, p.sentEnd = true, end
		l.mu.Unlock()
		var d time.Duration // <= 0: free
		if !end.IsZero() {
			d = end.Sub(now)
		}
		ctx, cancel := context.WithTimeout(context.Background(), ledgerTimeout)
		err := l.ledger.Hold(ctx, p.slot, d)
		cancel()
		if err != nil && failures < holdRetries {
			failures++
			time.Sleep(holdRetry)
			l.mu.Lock()
			p.dirty, p.sent = true, false
			l.mu.Unlock()
		}
	}
}

// renewLease renews the lease on the slot of a request not known to be
// written yet.
func (p *permit) renewLease() {
	l := p.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, known := p.releaseLocked(); known || p.free {
		return
	}
	p.syncLocked()
	p.renew.Reset(inFlightLease / 2)
}

// pauseShared tells the ledger of a pause.
func (l *Limiter) pauseShared(d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), ledgerTimeout)
	defer cancel()
	_ = l.ledger.Pause(ctx, d) // this process pauses anyway; the others see the 429s themselves
}
