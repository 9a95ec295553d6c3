package admission

import (
	"math"
	"sync"
	"time"
)

// load is what this process knows of the work ahead, for deciding at once
// that a webhook cannot finish within its wait: the larger of the AC budget
// the pending rounds need (slowed by the rounds arriving meanwhile) and
// waves of Workers rounds. How and why: docs/load-estimate.md.
type load struct {
	mu sync.Mutex
	// pending is the webhooks pending: the last count from the database,
	// plus those stored since, minus those this process finished since.
	pending int
	// contacts counts the webhooks this process stored that are pending,
	// by contact; dupes is how many of them share a round with an earlier
	// webhook of their contact (a contact's pending webhooks take one round).
	contacts map[string]int
	dupes    int
	arrivals float64   // rounds that arrived behind pending work, per second, decaying (arrivalWindow)
	arrived  time.Time // when arrivals was last updated

	running  int     // rounds running
	started  uint64  // rounds started
	ended    uint64  // rounds ended
	sent     uint64  // AC requests sent, as of the last round's start or end
	round    float64 // moving average of a round's duration, seconds
	alone    float64 // the same, of rounds that ran with no other round
	requests float64 // moving average of the AC requests of a round
}

const (
	// roundWeight is the weight of the latest round in the moving averages.
	roundWeight = 0.2
	// priorRequests stands for the AC requests of a round until one ended:
	// an add reads the contact and its tags.
	priorRequests = 2
	// arrivalWindow is the time constant of the arrival rate.
	arrivalWindow = time.Second
)

// roundToken is what a round's start tells its end.
type roundToken struct {
	alone   bool   // no other round was running at the start
	started uint64 // rounds started, this one included
}

// roundStarted notes a round starting; sent is the AC requests sent so far.
// Requests sent while no round ran belong to no round.
func (l *load) roundStarted(sent uint64) roundToken {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running == 0 {
		l.sent = sent
	}
	l.running++
	l.started++
	return roundToken{alone: l.running == 1, started: l.started}
}

// roundEnded adds a round's duration and AC requests to the moving
// averages. The requests are those sent since the last round ended: with
// rounds running side by side they mix, and the average still comes out
// as the requests per round.
func (l *load) roundEnded(t roundToken, d time.Duration, sent uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.running--
	first := l.ended == 0
	l.ended++
	l.requests = average(l.requests, float64(sent-l.sent), first)
	l.sent = sent
	l.round = average(l.round, d.Seconds(), first)
	if t.alone && t.started == l.started {
		l.alone = average(l.alone, d.Seconds(), l.alone == 0)
	}
}

// average is the moving average avg with x added; the first x replaces it.
func average(avg, x float64, first bool) float64 {
	if first {
		return x
	}
	return avg + roundWeight*(x-avg)
}

// idle reports whether no round is running and no webhook pending.
func (l *load) idle() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.running == 0 && l.pending == 0
}

// stored notes webhooks just stored, by contact. count is the pending
// webhooks the database counted before them, or -1 when not counted.
func (l *load) stored(count int, contacts []string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if count >= 0 {
		l.pending = count
	}
	if l.pending == 0 || l.contacts == nil {
		// Nothing pending: forget webhooks finished elsewhere (another
		// process, an operator) that this process still counted.
		l.contacts, l.dupes = map[string]int{}, 0
	}
	for _, c := range contacts {
		l.contacts[c]++
		if l.contacts[c] > 1 {
			l.dupes++ // covered by the round of the contact's earlier webhook
		} else if l.pending > l.dupes {
			l.arrivals = l.arrivalsAt(now) + 1/arrivalWindow.Seconds()
			l.arrived = now
		}
		l.pending++
	}
}

// finished notes n webhooks of contact that this process finished.
func (l *load) finished(contact string, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = max(l.pending-n, 0)
	m := l.contacts[contact]
	if m == 0 {
		return
	}
	left := max(m-n, 0)
	l.dupes -= (m - 1) - max(left-1, 0)
	if left == 0 {
		delete(l.contacts, contact)
	} else {
		l.contacts[contact] = left
	}
}

// arrivalsAt is the arrival rate at now.
func (l *load) arrivalsAt(now time.Time) float64 {
	if l.arrivals == 0 {
		return 0
	}
	return l.arrivals * math.Exp(-now.Sub(l.arrived).Seconds()/arrivalWindow.Seconds())
}

// ahead estimates how long the pending rounds take with workers rounds at a
// time and rate AC requests per second (0: unknown). It is 0 when nothing is
// pending.
func (l *load) ahead(workers int, rate float64, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pending <= 0 || workers <= 0 {
		return 0
	}
	n := max(l.pending-l.dupes, 1) // rounds pending, running ones included
	secs := max(l.budgetAhead(n, workers, rate, now), l.wavesAhead(n, workers))
	return time.Duration(secs * float64(time.Second))
}

// budgetAhead is the seconds of AC budget the n pending rounds need, slowed
// by the rounds arriving meanwhile, at most what rounds on every worker
// beside the last would need.
func (l *load) budgetAhead(n, workers int, rate float64, now time.Time) float64 {
	requests := l.requests
	if l.ended == 0 {
		requests = priorRequests
	}
	if rate <= 0 || requests <= 0 {
		return 0
	}
	per := requests / rate // seconds of budget per round
	worst := float64(n+workers-1) * per
	busy := l.arrivalsAt(now) * per // share of the budget new rounds take
	if busy >= 1 {
		return worst
	}
	return min(float64(n)*per/(1-busy), worst)
}

// wavesAhead is the seconds the n pending rounds take in waves of workers
// rounds, each an average round long; a lone round is estimated from rounds
// that ran alone. It is 0 until a round ended.
func (l *load) wavesAhead(n, workers int) float64 {
	if n == 1 && l.alone > 0 {
		return l.alone
	}
	return math.Ceil(float64(n)/float64(workers)) * l.round
}
