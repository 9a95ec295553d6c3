package ratelimit

import (
	"context"
	"sync"
	"time"
)

// window is the span in which at most perSecond requests may reach the server,
// stretched like the interval.
const window = time.Duration(float64(time.Second) * safetyMargin)

// Acquire is Wait for callers that also report when the answer came back: it
// returns done, to be called once the request's answer arrived (or it failed).
//
// Spacing starts alone cannot hold the limit as the server counts it: a
// request delayed on its way (a busy machine, a new connection) can land in
// the same second as the next few. Acquire therefore also lets a request start
// only while fewer than perSecond requests are in flight or were answered
// within the last window. A request reaches the server between its start and
// its answer, so no window of one second at the server ever sees more than
// perSecond of them, whatever the delays.
func (l *Limiter) Acquire(ctx context.Context) (done func(), err error) {
	for {
		wait, ch := l.occupy()
		if wait == 0 && ch == nil {
			break
		}
		t := time.NewTimer(wait)
		if wait == 0 {
			t.Stop() // no answer to age out: wait for a request to end
		}
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-ch:
		case <-t.C:
		}
		t.Stop()
	}
	if err := l.Wait(ctx); err != nil {
		l.end(false)
		return nil, err
	}
	return sync.OnceFunc(func() { l.end(true) }), nil
}

// occupy takes a place for a request, or says how long to wait (and a channel
// closed when a place may have come free).
func (l *Limiter) occupy() (time.Duration, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	keep := l.recent[:0]
	for _, t := range l.recent {
		if now.Sub(t) < window {
			keep = append(keep, t)
		}
	}
	l.recent = keep
	if l.inFlight+len(l.recent) < l.perSecond {
		l.inFlight++
		return 0, nil
	}
	if l.changed == nil {
		l.changed = make(chan struct{})
	}
	var wait time.Duration
	if len(l.recent) > 0 {
		wait = max(l.recent[0].Add(window).Sub(now), time.Millisecond)
	}
	return wait, l.changed
}

// end releases a place; answered requests keep counting for one window.
func (l *Limiter) end(answered bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inFlight--
	if answered {
		l.recent = append(l.recent, time.Now())
	}
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
}
