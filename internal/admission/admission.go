// Package admission decides what the queue admits and how long a caller
// waits: the pending limit (MAX_PENDING, checked without a query per
// webhook), and the early 202, answered at once when the work ahead of a
// webhook will take longer than its wait (the load estimate,
// docs/load-estimate.md).
package admission

import (
	"context"
	"fmt"
	"time"

	"github.com/wpbridge/wpbridge/internal/webhook"
)

// Admission is one process's admission of webhooks.
type Admission struct {
	maxPending int
	workers    int
	rate       float64 // AC requests per second (0: unknown)

	pending   pendingCount // used by one caller at a time (Room, Stored)
	recounted bool         // Room read the count since the last Stored
	load      load
}

// New returns the admission of a queue with maxPending webhooks pending at
// most, workers rounds at a time and acRate AC requests per second (0:
// unknown).
func New(maxPending, workers, acRate int) *Admission {
	return &Admission{maxPending: maxPending, workers: workers, rate: float64(acRate)}
}

// pendingCount is what is known of the number of pending webhooks, so that
// admitting a webhook costs no query: the count read from the database,
// plus the webhooks stored since. Webhooks finished since (or stored by
// another process) are noticed at the next count.
type pendingCount struct {
	n       int
	counted time.Time
	took    time.Duration // how long the last count took
}

// A count costs time in proportion to the pending webhooks (about 30 ms for
// 100,000), and holds the database meanwhile: it is read again at most every
// countMaxAge, and never more than 1% of the time; when the queue looks full
// it is read again sooner (countFullAge, and at most 5% of the time), since
// finished webhooks may have made room.
const (
	countMaxAge  = time.Second
	countFullAge = 100 * time.Millisecond
)

func (p *pendingCount) stale(full bool) bool {
	age := time.Since(p.counted)
	if full {
		return age > max(countFullAge, 20*p.took)
	}
	return age > max(countMaxAge, 100*p.took)
}

// Room returns how many of want webhooks may be stored now without going
// over MaxPending, reading the pending webhooks again with count when what
// is known is stale. One caller at a time (the group commit's leader).
func (a *Admission) Room(ctx context.Context, want int, count func(context.Context) (int, error)) (int, error) {
	p := &a.pending
	a.recounted = false
	if p.stale(p.n+want > a.maxPending) {
		start := time.Now()
		n, err := count(ctx)
		if err != nil {
			return 0, err
		}
		p.n, p.counted, p.took = n, time.Now(), time.Since(start)
		a.recounted = true
	}
	return max(a.maxPending-p.n, 0), nil
}

// Refused is the error of a webhook refused for want of room, after stored
// webhooks of its batch were admitted.
func (a *Admission) Refused(stored int) error {
	return fmt.Errorf("%w: %d pending, MAX_PENDING is %d", webhook.ErrTooManyPending, a.pending.n+stored, a.maxPending)
}

// Stored notes webhooks just stored pending, one per contact listed (a
// contact once per webhook). Same caller as Room.
func (a *Admission) Stored(contacts []string) {
	count := -1 // the count the load knows is still good
	if a.recounted {
		count, a.recounted = a.pending.n, false
	}
	a.pending.n += len(contacts)
	a.load.stored(count, contacts, time.Now())
}

// Finished notes n webhooks of contact that this process finished.
func (a *Admission) Finished(contact string, n int) { a.load.finished(contact, n) }

// Round is what a round's start tells its end.
type Round struct{ tok roundToken }

// RoundStarted notes a round starting; sent is the AC requests sent so far.
func (a *Admission) RoundStarted(sent uint64) Round {
	return Round{a.load.roundStarted(sent)}
}

// RoundEnded notes the round r ended after d, with sent AC requests sent so
// far.
func (a *Admission) RoundEnded(r Round, d time.Duration, sent uint64) {
	a.load.roundEnded(r.tok, d, sent)
}

// Idle reports whether this process knows of no webhook pending and no
// round running.
func (a *Admission) Idle() bool { return a.load.idle() }

// CannotFinish reports whether a webhook waiting now for up to d cannot
// finish in time, given the work ahead of it: the caller answers 202 now
// instead of at the end of a wait that cannot succeed.
func (a *Admission) CannotFinish(d time.Duration) bool {
	return a.load.ahead(a.workers, a.rate, time.Now()) > d
}
