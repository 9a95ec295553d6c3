// Package maintenance runs wpbridge's background loops as services that
// start and stop, the way River structures its maintenance services
// (startstop.Service): the cleaner of old records here, and the liveness and
// rescue loop of package fleet. Each is a Periodic: one function run every
// interval on its own goroutine until Stop, which waits for it.
package maintenance

import (
	"context"
	"sync"
	"time"
)

// Service is a background loop that starts and stops.
type Service interface {
	// Start starts the loop; it runs until Stop (not until ctx ends: ctx
	// carries only values).
	Start(ctx context.Context)
	// Stop ends the loop and waits for its current run; a Service never
	// started, or stopped already, returns at once.
	Stop()
}

// Periodic is a Service that calls Run every Interval, first at Start when
// AtStart is set. Run's context ends at Stop.
type Periodic struct {
	Interval time.Duration
	AtStart  bool
	Run      func(ctx context.Context)

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Start implements Service.
func (p *Periodic) Start(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cancel != nil {
		return
	}
	ctx, p.cancel = context.WithCancel(context.WithoutCancel(ctx))
	p.done = make(chan struct{})
	go p.loop(ctx, p.done)
}

func (p *Periodic) loop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(p.Interval)
	defer t.Stop()
	if p.AtStart {
		p.Run(ctx)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.Run(ctx)
	}
}

// Stop implements Service.
func (p *Periodic) Stop() {
	p.mu.Lock()
	cancel, done := p.cancel, p.done
	p.cancel, p.done = nil, nil
	p.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

// None is a Service that does nothing.
type None struct{}

// Start implements Service.
func (None) Start(context.Context) {}

// Stop implements Service.
func (None) Stop() {}
