package wait

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// recordingTB captures Fatalf instead of stopping the test.
type recordingTB struct {
	testing.TB
	failures []string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Fatalf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func TestFor(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		doneAt    int // call on which cond first holds; 0 = never
		timeout   time.Duration
		wantCalls int // at least
		wantFail  string
	}{
		{name: "holds at once", doneAt: 1, timeout: time.Second, wantCalls: 1},
		{name: "holds on the fourth check", doneAt: 4, timeout: 10 * time.Second, wantCalls: 4},
		{name: "never holds", timeout: 50 * time.Millisecond, wantCalls: 2,
			wantFail: "timed out after 50ms waiting for the thing: 3 of 4 pending"},
		{name: "zero timeout checks once more", timeout: 0, wantCalls: 1,
			wantFail: "timed out after 0s waiting for the thing: 3 of 4 pending"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &recordingTB{TB: t}
			calls := 0
			start := time.Now()
			For(r, tt.timeout, "the thing", func() (bool, string) {
				calls++
				return calls == tt.doneAt, "3 of 4 pending"
			})
			took := time.Since(start)
			if calls < tt.wantCalls || (tt.doneAt > 0 && calls != tt.doneAt) {
				t.Errorf("cond called %d times, want %d", calls, max(tt.doneAt, tt.wantCalls))
			}
			if got := strings.Join(r.failures, "\n"); got != tt.wantFail {
				t.Errorf("failure = %q, want %q", got, tt.wantFail)
			}
			if tt.doneAt == 0 && took < tt.timeout {
				t.Errorf("gave up after %s, before the %s timeout", took, tt.timeout)
			}
			if took > tt.timeout+time.Second {
				t.Errorf("returned after %s, timeout %s", took, tt.timeout)
			}
		})
	}
}

func TestForStateless(t *testing.T) {
	t.Parallel()
	r := &recordingTB{TB: t}
	For(r, 0, "the thing", func() (bool, string) { return false, "" })
	if len(r.failures) != 1 || r.failures[0] != "timed out after 0s waiting for the thing" {
		t.Errorf("failures = %q", r.failures)
	}
}

// TestForPauses checks that the pause between checks grows to maxPause, so a
// slow condition is not polled in a busy loop.
func TestForPauses(t *testing.T) {
	t.Parallel()
	var at []time.Time
	For(t, 10*time.Second, "ten checks", func() (bool, string) {
		at = append(at, time.Now())
		return len(at) == 10, ""
	})
	if gap := at[9].Sub(at[8]); gap < maxPause*9/10 {
		t.Errorf("pause before the tenth check = %s, want about %s", gap, maxPause)
	}
}
