package queue

import (
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
)

func TestBackoffPolicy(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name      string
		base, cap time.Duration
		attempt   int
		lo, hi    time.Duration // inclusive range of the delay
	}{
		{"attempt 0 is the base", 10 * ms, 50 * ms, 0, 8 * ms, 12 * ms},
		{"first retry", 10 * ms, 50 * ms, 1, 8 * ms, 12 * ms},
		{"doubles", 10 * ms, 50 * ms, 2, 16 * ms, 24 * ms},
		{"doubles again", 10 * ms, 50 * ms, 3, 32 * ms, 48 * ms},
		{"reaches the cap", 10 * ms, 50 * ms, 4, 40 * ms, 50 * ms},
		{"stays at the cap", 10 * ms, 50 * ms, 25, 40 * ms, 50 * ms},
		{"huge attempt does not overflow", time.Second, 10 * time.Minute, 1 << 30, 8 * time.Minute, 10 * time.Minute},
		{"base above cap", time.Minute, time.Second, 1, 800 * ms, time.Second},
		{"defaults, attempt 5", time.Second, 10 * time.Minute, 5, 12800 * ms, 19200 * ms},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &backoffPolicy{base: tc.base, cap: tc.cap}
			seen := map[time.Duration]bool{}
			for i := 0; i < 500; i++ {
				d := p.delay(tc.attempt)
				if d < tc.lo || d > tc.hi {
					t.Fatalf("delay(%d) = %s, want within [%s, %s]", tc.attempt, d, tc.lo, tc.hi)
				}
				seen[d] = true
			}
			if len(seen) < 10 {
				t.Errorf("delay(%d) took only %d distinct values in 500 draws: no jitter", tc.attempt, len(seen))
			}
		})
	}
}

func TestBackoffPolicyNextRetry(t *testing.T) {
	p := &backoffPolicy{base: time.Second, cap: time.Minute}
	before := time.Now()
	next := p.NextRetry(&rivertype.JobRow{Attempt: 2})
	after := time.Now()
	if next.Before(before.Add(1600*time.Millisecond)) || next.After(after.Add(2400*time.Millisecond)) {
		t.Errorf("NextRetry for attempt 2 = now+%s, want now+2s±20%%", next.Sub(before))
	}
}
