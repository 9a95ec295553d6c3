package fleet

import (
	"sync"
	"time"
)

// pause is this process's own pause of all work.
type pause struct {
	mu     sync.Mutex
	until  time.Time
	reason string
}

func (p *pause) set(d time.Duration, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if until := time.Now().Add(d); until.After(p.until) {
		p.until = until
	}
	p.reason = reason
}

func (p *pause) clear() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	reason := p.reason
	p.until, p.reason = time.Time{}, ""
	return reason
}

func (p *pause) state() (time.Duration, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Until(p.until), p.reason
}
