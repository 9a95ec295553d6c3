package main

import (
	"io"
	"math"
	"testing"
	"time"
)

func TestQuantiles(t *testing.T) {
	ms := time.Millisecond
	// 100 answers: 1..100 ms, shuffled order must not matter.
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*ms)
	}
	p50, p99, mx := quantiles(ds)
	if p50 != 51*ms || p99 != 99*ms || mx != 100*ms {
		t.Errorf("quantiles = %v %v %v, want 51ms 99ms 100ms", p50, p99, mx)
	}
	if ds[0] != 100*ms {
		t.Error("quantiles sorted its argument")
	}
	if a, b, c := quantiles(nil); a != 0 || b != 0 || c != 0 {
		t.Errorf("quantiles(nil) = %v %v %v", a, b, c)
	}
	if a, b, c := quantiles([]time.Duration{7 * ms}); a != 7*ms || b != 7*ms || c != 7*ms {
		t.Errorf("one sample = %v %v %v", a, b, c)
	}
}

func TestBacklogSpans(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	samples := []sample{
		{at(0), 0}, {at(50), 3}, {at(100), 5}, {at(150), 1}, // 50..150
		{at(200), 2}, {at(250), 0}, // 200..250
		{at(300), 9}, // last sample: stands for no time
	}
	got := backlogSpans(samples, 2)
	want := []span{{at(50), at(150)}, {at(200), at(250)}}
	if len(got) != len(want) {
		t.Fatalf("spans = %v, want %v", got, want)
	}
	for i := range want {
		if !got[i].From.Equal(want[i].From) || !got[i].To.Equal(want[i].To) {
			t.Errorf("span %d = %v, want %v", i, got[i], want[i])
		}
	}
	if s := totalSeconds(got); math.Abs(s-0.15) > 1e-9 {
		t.Errorf("totalSeconds = %v, want 0.15", s)
	}
	if got := backlogSpans(samples[:1], 0); got != nil {
		t.Errorf("one sample: %v, want none", got)
	}
}

func TestBudgetShare(t *testing.T) {
	t0 := time.Unix(1000, 0)
	sec := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	spans := []span{{sec(0), sec(2)}, {sec(10), sec(12)}} // 4 s: AC allows 20 at 5/s
	var arrivals []time.Time
	for i := range 10 { // 10 inside the first span, 5/s
		arrivals = append(arrivals, sec(float64(i)*0.2))
	}
	arrivals = append(arrivals, sec(2), sec(5), sec(11.5)) // end is exclusive; 5 s outside; 11.5 inside
	for _, tc := range []struct {
		name   string
		spans  []span
		rate   int
		want   float64
		arrive []time.Time
	}{
		{"two spans", spans, 5, 11.0 / 20, arrivals},
		{"full use", spans[:1], 5, 1, arrivals[:10]},
		{"higher limit", spans[:1], 10, 0.5, arrivals[:10]},
		{"no backlog", nil, 5, -1, arrivals},
		{"empty span", []span{{sec(1), sec(1)}}, 5, -1, arrivals},
		{"no requests", spans, 5, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := budgetShare(tc.arrive, tc.spans, tc.rate); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("budgetShare = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSelectScenarios(t *testing.T) {
	all, err := selectScenarios("all")
	if err != nil || len(all) != len(scenarioList) {
		t.Fatalf("all: %d, %v", len(all), err)
	}
	two, err := selectScenarios("seq10, dup10")
	if err != nil || len(two) != 2 || two[0].Key != "seq10" || two[1].Key != "dup10" {
		t.Fatalf("two: %+v, %v", two, err)
	}
	if _, err := selectScenarios("seq10,nope"); err == nil {
		t.Error("unknown scenario accepted")
	}
	if none, err := selectScenarios(""); err != nil || none != nil {
		t.Errorf("empty: %v, %v", none, err)
	}
}

func TestScenarioFlags(t *testing.T) {
	o, err := parseFlags([]string{"-scenarios", "lone-add", "-ac-delay", "0,300ms"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.runAck || o.runStorm || len(o.acDelays) != 2 || o.acDelays[1] != 300*time.Millisecond {
		t.Errorf("ack %v storm %v delays %v; want scenarios only at 0 and 300ms", o.runAck, o.runStorm, o.acDelays)
	}
	o, err = parseFlags([]string{"-scenarios", "lone-add", "-storm"}, io.Discard)
	if err != nil || o.runAck || !o.runStorm {
		t.Errorf("explicit -storm: ack %v storm %v, %v", o.runAck, o.runStorm, err)
	}
	for _, bad := range [][]string{{"-ac-delay", "x"}, {"-ac-delay", "-1s"}, {"-burst-n", "0"}, {"-scenarios", "x"}} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestAnswerCodes(t *testing.T) {
	as := []answer{{Status: "202"}, {Status: "200"}, {Status: "timeout"}, {Status: "200"}}
	if got := answerCodes(as); got != "200×2 202×1 timeout×1" {
		t.Errorf("answerCodes = %q", got)
	}
	if got := len(latencies(as, "200")); got != 2 {
		t.Errorf("latencies(200) = %d", got)
	}
}
