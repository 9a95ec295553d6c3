package maintenance

import (
	"context"
	"testing"
	"time"
)

// A Periodic runs at start when asked, runs again each interval, and Stop
// ends the run in progress (its context) and waits for it; a second Stop and
// a Stop of a never started service return at once.
func TestPeriodic(t *testing.T) {
	runs := make(chan struct{}, 10)
	ended := make(chan struct{})
	n := 0 // runs are never concurrent
	p := &Periodic{Interval: time.Millisecond, AtStart: true, Run: func(ctx context.Context) {
		n++
		runs <- struct{}{}
		if n == 3 {
			<-ctx.Done() // the third run lasts until Stop
			close(ended)
		}
	}}
	(&Periodic{}).Stop()
	p.Start(context.Background())
	for range 3 {
		select {
		case <-runs:
		case <-time.After(10 * time.Second):
			t.Fatal("the service did not run three times")
		}
	}
	p.Stop()
	select {
	case <-ended:
	default:
		t.Fatal("Stop returned before the run in progress ended")
	}
	p.Stop()
}
