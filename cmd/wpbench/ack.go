package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/wpbridge/wpbridge/internal/testing/acfake"
)

// ackResult is one load run against the webhook endpoint.
type ackResult struct {
	Name      string
	Sent      int
	Acked     int // 202 queued
	Errors    int // transport errors and any other status
	Codes     map[int]int
	Elapsed   time.Duration // first send to last answer
	SendSpan  time.Duration // first to last send start (paced runs)
	Latencies []time.Duration
}

func (r *ackResult) add(code int, err error, d time.Duration) {
	r.Sent++
	if err != nil {
		r.Errors++
		return
	}
	r.Codes[code]++
	if code == http.StatusAccepted {
		r.Acked++
		r.Latencies = append(r.Latencies, d)
	} else {
		r.Errors++
	}
}

func (r *ackResult) merge(o *ackResult) {
	r.Sent += o.Sent
	r.Acked += o.Acked
	r.Errors += o.Errors
	for k, v := range o.Codes {
		r.Codes[k] += v
	}
	r.Latencies = append(r.Latencies, o.Latencies...)
}

// pct returns the p-th percentile (0..1) of sorted durations.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(p*float64(len(sorted)-1)+0.5)]
}

// quantiles returns p50, p99 and max of the latencies.
func (r *ackResult) quantiles() (p50, p99, mx time.Duration) {
	s := slices.Clone(r.Latencies)
	slices.Sort(s)
	if len(s) == 0 {
		return 0, 0, 0
	}
	return pct(s, 0.50), pct(s, 0.99), s[len(s)-1]
}

// perSecond is acknowledgements per second over the run.
func (r *ackResult) perSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Acked) / r.Elapsed.Seconds()
}

// hookMix draws webhooks for a pool of contacts: every action, with and
// without payload tags.
type hookMix struct {
	rng      *rand.Rand
	contacts []hook // ContactID and Email set
}

func (m *hookMix) next() hook {
	h := m.contacts[m.rng.IntN(len(m.contacts))]
	h.Action = []string{"add", "update", "update_tags"}[m.rng.IntN(3)]
	if m.rng.IntN(2) == 0 {
		h.Tags, h.HasTags = randomTags(m.rng), true
	}
	return h
}

// seedAckContacts adds n contacts to the fake AC for the load runs.
func (b *bench) seedAckContacts(ac *acfake.Server, n int, rng *rand.Rand) []hook {
	out := make([]hook, 0, n)
	for i := range n {
		email := fmt.Sprintf("bench-%s-ack-%d@example.com", b.runID, i)
		id := b.addContact(ac, acfake.Contact{Email: email, FirstName: "Ack", LastName: fmt.Sprint(i), Tags: randomTags(rng)})
		out = append(out, hook{ContactID: id, Email: email})
	}
	return out
}

// paced sends rate webhooks per second for d (open loop: each send starts
// on schedule in its own goroutine, at most maxInFlight at once), to the
// bases in turn (one per wpbridge replica).
func (b *bench) paced(ctx context.Context, bases []string, mix *hookMix, rate int, d time.Duration) *ackResult {
	const maxInFlight = 512
	total := int(float64(rate) * d.Seconds())
	interval := time.Second / time.Duration(rate)
	res := &ackResult{Name: fmt.Sprintf("paced %d/s for %s", rate, d), Codes: map[int]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxInFlight)
	start := time.Now()
	var lastStart time.Time
	for i := 0; i < total && ctx.Err() == nil; i++ {
		if w := time.Until(start.Add(time.Duration(i) * interval)); w > 0 {
			time.Sleep(w)
		}
		h, base := mix.next(), bases[i%len(bases)]
		sem <- struct{}{}
		lastStart = time.Now()
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			t0 := time.Now()
			code, err := b.send(ctx, base, h, true)
			el := time.Since(t0)
			mu.Lock()
			res.add(code, err, el)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.SendSpan = lastStart.Sub(start)
	return res
}

// flatOut runs senders closed-loop senders for d (each sends its next webhook
// as soon as the previous one is answered), at most maxSends in all, to the
// bases in turn (one per wpbridge replica).
func (b *bench) flatOut(ctx context.Context, bases []string, mix *hookMix, senders int, d time.Duration) *ackResult {
	const maxSends = 1_000_000
	res := &ackResult{Name: fmt.Sprintf("flat-out, %d senders, %s", senders, d), Codes: map[int]int{}}
	var mu sync.Mutex // guards mix and res
	var wg sync.WaitGroup
	reserved := 0 // sends started, guarded by mu
	start := time.Now()
	deadline := start.Add(d)
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := &ackResult{Codes: map[int]int{}}
			defer func() {
				mu.Lock()
				res.merge(local)
				mu.Unlock()
			}()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				mu.Lock()
				if reserved >= maxSends {
					mu.Unlock()
					return
				}
				base := bases[reserved%len(bases)]
				reserved++
				h := mix.next()
				mu.Unlock()
				t0 := time.Now()
				code, err := b.send(ctx, base, h, true)
				local.add(code, err, time.Since(t0))
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	return res
}
