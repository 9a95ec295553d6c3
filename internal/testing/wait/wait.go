// Package wait lets a test wait for something to happen instead of sleeping
// a fixed time: it polls a condition until it holds or a timeout passes.
//
//	wait.For(t, 10*time.Second, "the user to exist", func() (bool, string) {
//		_, err := wp.Users.FindByEmail(ctx, email)
//		return err == nil, fmt.Sprint(err)
//	})
package wait

import (
	"testing"
	"time"
)

// First and longest pause between two checks: quick conditions return within
// milliseconds, slow ones (a REST call per check) are not polled in a busy loop.
const (
	firstPause = 5 * time.Millisecond
	maxPause   = 100 * time.Millisecond
)

// For calls cond until it reports done, pausing a little longer after each
// miss (5ms, doubling up to 100ms). If timeout passes first, it fails t with
// Fatalf: "timed out after <timeout> waiting for <what>: <state>", where state
// is the explanation cond returned last ("" adds nothing). cond is checked at
// least once, and once more after the deadline.
//
// Like Fatalf, For must be called from the goroutine running the test.
func For(t testing.TB, timeout time.Duration, what string, cond func() (done bool, state string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	pause := firstPause
	for {
		done, state := cond()
		if done {
			return
		}
		left := time.Until(deadline)
		if left <= 0 {
			if state != "" {
				state = ": " + state
			}
			t.Fatalf("timed out after %s waiting for %s%s", timeout, what, state)
			return
		}
		time.Sleep(min(pause, left))
		pause = min(2*pause, maxPause)
	}
}
