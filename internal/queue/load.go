package queue

import (
	"math"
	"sync/atomic"
	"time"
)

// load is what the queue knows of the work ahead, for deciding at once that
// a webhook cannot finish within its wait (Wait): the webhooks pending (as
// the group commit last counted them, plus those stored since) and a moving
// average of how long a round takes. Under a backlog rounds wait for AC's
// budget, so the average grows with it and the estimate follows.
type load struct {
	pending atomic.Int64
	round   atomic.Uint64 // float64 bits: average round duration in seconds
}

// roundWeight is the weight of the latest round in the moving average.
const roundWeight = 0.2

// observeRound adds a round's duration to the moving average.
func (l *load) observeRound(d time.Duration) {
	for {
		old := l.round.Load()
		avg := math.Float64frombits(old)
		next := d.Seconds()
		if avg > 0 {
			next = avg + roundWeight*(next-avg)
		}
		if l.round.CompareAndSwap(old, math.Float64bits(next)) {
			return
		}
	}
}

// ahead estimates how long the pending webhooks take with workers rounds at
// a time: whole waves of workers rounds, each an average round long. It is
// 0 until a round was seen.
func (l *load) ahead(workers int) time.Duration {
	avg := math.Float64frombits(l.round.Load())
	n := l.pending.Load()
	if avg <= 0 || n <= 0 || workers <= 0 {
		return 0
	}
	waves := math.Ceil(float64(n) / float64(workers))
	return time.Duration(waves * avg * float64(time.Second))
}
