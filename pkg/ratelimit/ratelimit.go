// Package ratelimit spaces outgoing requests so that an account-wide limit such as
// ActiveCampaign's "5 requests per second" is never exceeded, and lets any caller pause
// everyone after a 429 Retry-After.
//
//	lim := ratelimit.New(5)
//	if err := lim.Wait(ctx); err != nil {
//		return err // ctx cancelled
//	}
//	// ... send the request; on 429: lim.Pause(retryAfter)
package ratelimit

import (
	"context"
	"sync"
	"time"
)

// safetyMargin stretches the interval between two starts by 2% so that n+1 starts can
// never fall inside one 1-second window, even with timer jitter.
const safetyMargin = 1.02

// Limiter hands out start slots spaced by a fixed interval (burst 1), shared by all
// goroutines, and can be paused for everyone. The zero value is not usable; use New.
type Limiter struct {
	interval time.Duration

	mu          sync.Mutex
	next        time.Time // earliest start of the next slot
	pausedUntil time.Time

	// Occupancy, for Acquire: requests in flight and answers received within
	// the last window (see acquire.go).
	perSecond int
	inFlight  int
	recent    []time.Time   // answer times within the window, oldest first
	changed   chan struct{} // closed when a request ends
}

// New returns a Limiter that lets at most perSecond calls of Wait return in any one-second
// window. perSecond < 1 is treated as 1.
func New(perSecond int) *Limiter {
	if perSecond < 1 {
		perSecond = 1
	}
	iv := time.Duration(float64(time.Second) / float64(perSecond) * safetyMargin)
	return &Limiter{interval: iv, perSecond: perSecond}
}

// Interval reports the spacing between two consecutive starts.
func (l *Limiter) Interval() time.Duration { return l.interval }

// Wait blocks until the caller may start a request: its slot has come and no pause is in
// force. It returns ctx's error if ctx ends first (the slot is then forfeited, which only
// makes the limiter more conservative).
func (l *Limiter) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for {
		slot := l.reserve()
		if d := time.Until(slot); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		// A Pause may have been issued while we slept: honour it by taking a new slot.
		l.mu.Lock()
		paused := time.Now().Before(l.pausedUntil)
		l.mu.Unlock()
		if !paused {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// reserve books the next free slot, not before the end of any pause.
func (l *Limiter) reserve() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	slot := time.Now()
	if l.next.After(slot) {
		slot = l.next
	}
	if l.pausedUntil.After(slot) {
		slot = l.pausedUntil
	}
	l.next = slot.Add(l.interval)
	return slot
}

// Pause stops every Wait from returning before now+d. It extends, and never shortens,
// a pause already in force. d <= 0 is a no-op.
func (l *Limiter) Pause(d time.Duration) {
	if d <= 0 {
		return
	}
	until := time.Now().Add(d)
	l.mu.Lock()
	if until.After(l.pausedUntil) {
		l.pausedUntil = until
	}
	l.mu.Unlock()
}

// PausedUntil reports the end of the current pause (zero or past when not paused).
func (l *Limiter) PausedUntil() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pausedUntil
}
