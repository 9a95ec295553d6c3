package admin

import (
	"strconv"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	l := newLimiter(func() time.Time { return now })
	for range maxFailures {
		if _, blocked := l.blocked("2001:db8:1:2::1"); blocked {
			t.Fatal("blocked before maxFailures")
		}
		l.fail("2001:db8:1:2::1")
	}
	if _, blocked := l.blocked("2001:db8:1:2::ffff"); !blocked {
		t.Error("another address of the same IPv6 /64 is not blocked")
	}
	if _, blocked := l.blocked("2001:db8:1:3::1"); blocked {
		t.Error("an address of another /64 is blocked")
	}
	if _, blocked := l.blocked("::ffff:192.0.2.1"); blocked {
		t.Error("an unrelated IPv4 address is blocked")
	}
	now = now.Add(failureDrain)
	if _, blocked := l.blocked("2001:db8:1:2::1"); blocked {
		t.Error("still blocked after one failure drained away")
	}

	for i := range maxTracked + 10 { // many addresses failing at once stay bounded
		l.fail("10.0." + strconv.Itoa(i/250) + "." + strconv.Itoa(i%250))
	}
	if n := len(l.m); n > maxTracked {
		t.Errorf("limiter tracks %d addresses, want at most %d", n, maxTracked)
	}
}
