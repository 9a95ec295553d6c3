package ratelimit

import (
	"context"
	"sync"
)

// reservation is a slot taken ahead of the request that will use it.
type reservation struct {
	l  *Limiter
	mu sync.Mutex
	p  *permit // nil once a request took it or it was given back
}

type reservationKey struct{}

// Reserve waits for a slot as Acquire does, and keeps it for the first
// request sent with the returned context: Acquire then takes the reserved
// slot instead of waiting for another. release gives the slot back at once
// if no request took it (nothing was sent with it, so nothing is counted);
// call it when the work that reserved it is over.
//
// It lets a caller wait for AC's budget before it decides what to send: a
// round of work claims its contact's webhooks once the budget lets it start,
// and so covers the webhooks that arrived while it waited.
func (l *Limiter) Reserve(ctx context.Context) (context.Context, func(), error) {
	p, err := l.acquire(ctx, false)
	if err != nil {
		return nil, nil, err
	}
	r := &reservation{l: l, p: p}
	return context.WithValue(ctx, reservationKey{}, r), r.release, nil
}

// reserved takes the unused slot ctx reserved on l, or returns nil.
func (l *Limiter) reserved(ctx context.Context) *permit {
	r, _ := ctx.Value(reservationKey{}).(*reservation)
	if r == nil || r.l != l {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.p
	r.p = nil
	return p
}

// release gives the slot back unless a request took it.
func (r *reservation) release() {
	r.mu.Lock()
	p := r.p
	r.p = nil
	r.mu.Unlock()
	if p != nil {
		p.giveBack()
	}
}

// giveBack frees a permit no request was sent with, at once.
func (p *permit) giveBack() {
	l := p.l
	l.mu.Lock()
	defer l.mu.Unlock()
	p.free = true
	if p.renew != nil {
		p.renew.Stop()
	}
	if p.slot != 0 {
		p.syncLocked() // wakes the waiters once the ledger knows
		return
	}
	l.signalLocked()
}
