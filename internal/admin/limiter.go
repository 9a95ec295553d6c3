package admin

import (
	"sync"
	"time"
)

// Failed attempts per client address: each failure adds one, one drains away
// every failureDrain; at maxFailures the address must wait.
const (
	maxFailures  = 5
	failureDrain = 10 * time.Second
	maxTracked   = 10000
)

type limiter struct {
	mu  sync.Mutex
	now func() time.Time
	m   map[string]bucket
}

type bucket struct {
	level float64
	at    time.Time
}

func newLimiter(now func() time.Time) *limiter {
	return &limiter{now: now, m: map[string]bucket{}}
}

func (b bucket) levelAt(t time.Time) float64 {
	l := b.level - float64(t.Sub(b.at))/float64(failureDrain)
	return max(l, 0)
}

// blocked reports whether ip must wait, and how long.
func (l *limiter) blocked(ip string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.m[ip]
	if !ok {
		return 0, false
	}
	lvl := b.levelAt(l.now())
	if lvl < maxFailures {
		return 0, false
	}
	return time.Duration((lvl - maxFailures + 1) * float64(failureDrain)), true
}

// fail records a failed attempt of ip.
func (l *limiter) fail(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.m) >= maxTracked {
		for k, b := range l.m {
			if b.levelAt(now) == 0 {
				delete(l.m, k)
			}
		}
	}
	l.m[ip] = bucket{level: l.m[ip].levelAt(now) + 1, at: now}
}

// reset forgets ip's failures (after a successful sign-in).
func (l *limiter) reset(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, ip)
}
