package admin

import (
	"net/netip"
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
	b, ok := l.m[clientKey(ip)]
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
		l.prune(now)
	}
	k := clientKey(ip)
	l.m[k] = bucket{level: l.m[k].levelAt(now) + 1, at: now}
}

// prune drops the addresses whose failures have drained away and, if that
// is not enough (many addresses failing at once), any half of the rest.
func (l *limiter) prune(now time.Time) {
	for k, b := range l.m {
		if b.levelAt(now) == 0 {
			delete(l.m, k)
		}
	}
	for k := range l.m {
		if len(l.m) < maxTracked/2 {
			break
		}
		delete(l.m, k)
	}
}

// clientKey is what failures are counted by: the IPv4 address, or the /64
// network of an IPv6 address (one host usually holds a whole /64).
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// reset forgets ip's failures (after a successful sign-in).
func (l *limiter) reset(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, clientKey(ip))
}
