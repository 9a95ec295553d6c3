package main

import (
	"slices"
	"time"
)

// Arithmetic of the scenarios (percentiles, backlog spans, AC budget share),
// kept free of I/O so that it is unit-tested.

// quantiles returns p50, p99 and max of ds (any order; ds is not changed).
func quantiles(ds []time.Duration) (p50, p99, mx time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0, 0, 0
	}
	return pct(s, 0.50), pct(s, 0.99), s[len(s)-1]
}

// sample is one reading of wpbridge_webhooks_pending.
type sample struct {
	At      time.Time
	Pending float64
}

// span is a time interval [From, To).
type span struct{ From, To time.Time }

func (s span) seconds() float64 { return s.To.Sub(s.From).Seconds() }

// backlogSpans turns samples (in time order) into the intervals during which
// at least threshold webhooks were pending: a sample at or over threshold
// stands for the time until the next sample. The last sample ends every
// interval (it has no successor to stand for time until).
func backlogSpans(samples []sample, threshold float64) []span {
	var out []span
	for i := 0; i+1 < len(samples); i++ {
		if samples[i].Pending < threshold {
			continue
		}
		from, to := samples[i].At, samples[i+1].At
		if n := len(out); n > 0 && out[n-1].To.Equal(from) {
			out[n-1].To = to
			continue
		}
		out = append(out, span{from, to})
	}
	return out
}

// totalSeconds is the summed length of spans.
func totalSeconds(spans []span) float64 {
	t := 0.0
	for _, s := range spans {
		t += s.seconds()
	}
	return t
}

// budgetShare is the share of AC's budget used while a backlog existed: the
// accepted AC requests that arrived inside spans divided by what AC allows in
// that time (rate per second x the spans' seconds). It returns -1 when there
// was no backlog (no spans, or zero length).
func budgetShare(arrivals []time.Time, spans []span, rate int) float64 {
	secs := totalSeconds(spans)
	if secs <= 0 || rate <= 0 {
		return -1
	}
	n := 0
	for _, at := range arrivals {
		for _, s := range spans {
			if !at.Before(s.From) && at.Before(s.To) {
				n++
				break
			}
		}
	}
	return float64(n) / (float64(rate) * secs)
}
