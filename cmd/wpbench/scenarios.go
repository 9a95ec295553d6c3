package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/wordpress"
)

// WP Fusion's scenarios (issue 8): each run against the real wpbridge, the
// real WordPress and a fake AC limited to -ac-rate requests per sliding
// second, answering after -ac-delay.

// scenario kinds: how the webhooks are sent.
const (
	kindLone      = "lone"      // one at a time, AC's window empty before each
	kindSeq       = "seq"       // back to back from one client
	kindPaced     = "paced"     // open loop, evenly over Span
	kindIdentical = "identical" // the same webhook N times at once
)

type scenario struct {
	Key    string // -scenarios name
	Label  string
	Kind   string
	Action string
	Linked bool // a WordPress user linked to each contact exists before
	// Seen: wpbridge has had a round for each contact before the measured
	// one (an update_tags, settled), as for any contact after its first
	// webhook; without it the measured round is the contact's first.
	Seen    bool
	HasTags bool // payload tags
	N       int  // webhooks (lone: repetitions; 0 = from flags)
	Span    time.Duration
	Async   bool
}

// scenarioList is every scenario in run order; N 0 takes -lone-n / -burst-n.
var scenarioList = []scenario{
	{Key: "lone-add", Label: "lone add, new contact, no payload tags", Kind: kindLone, Action: "add"},
	{Key: "lone-update-tags", Label: "lone update, payload tags", Kind: kindLone, Action: "update", Linked: true, HasTags: true},
	{Key: "lone-update", Label: "lone update, no payload tags", Kind: kindLone, Action: "update", Linked: true},
	{Key: "lone-update_tags-tags", Label: "lone update_tags, payload tags", Kind: kindLone, Action: "update_tags", Linked: true, HasTags: true},
	{Key: "lone-update_tags", Label: "lone update_tags, no payload tags", Kind: kindLone, Action: "update_tags", Linked: true},
	{Key: "lone-update-tags-seen", Label: "lone update, payload tags, contact seen before", Kind: kindLone, Action: "update", Linked: true, HasTags: true, Seen: true},
	{Key: "lone-update-seen", Label: "lone update, no payload tags, contact seen before", Kind: kindLone, Action: "update", Linked: true, Seen: true},
	{Key: "lone-update_tags-tags-seen", Label: "lone update_tags, payload tags, contact seen before", Kind: kindLone, Action: "update_tags", Linked: true, HasTags: true, Seen: true},
	{Key: "seq10", Label: "10 add back to back, one client", Kind: kindSeq, Action: "add", N: 10},
	{Key: "dup10", Label: "10 identical add at once", Kind: kindIdentical, Action: "add", N: 10},
	{Key: "burst10s-sync", Label: "add in 10 s, sync", Kind: kindPaced, Action: "add", Span: 10 * time.Second},
	{Key: "burst10s-async", Label: "add in 10 s, async=true", Kind: kindPaced, Action: "add", Span: 10 * time.Second, Async: true},
	{Key: "burst60s-sync", Label: "add over 60 s, sync", Kind: kindPaced, Action: "add", Span: 60 * time.Second},
	{Key: "burst60s-async", Label: "add over 60 s, async=true", Kind: kindPaced, Action: "add", Span: 60 * time.Second, Async: true},
}

// selectScenarios resolves -scenarios ("all" or a comma list of keys).
func selectScenarios(spec string) ([]scenario, error) {
	if spec == "" {
		return nil, nil
	}
	if spec == "all" {
		return scenarioList, nil
	}
	var out []scenario
	for _, k := range strings.Split(spec, ",") {
		found := false
		for _, s := range scenarioList {
			if s.Key == strings.TrimSpace(k) {
				out, found = append(out, s), true
			}
		}
		if !found {
			return nil, fmt.Errorf("-scenarios: unknown scenario %q", k)
		}
	}
	return out, nil
}

// answer is one webhook's answer as the client saw it.
type answer struct {
	Status  string // "200", "202", ... or "timeout", "error"
	Latency time.Duration
}

type scenResult struct {
	scenario
	Delay       time.Duration // added to every AC answer
	Answers     []answer
	Sent        int
	Contacts    int // distinct contacts without a user before (who add may create)
	Users       int // of those, with a WordPress user afterwards
	Passwords   int // contacts with a password written at AC
	AC, AC429   int
	MaxInWindow int
	WPRequests  float64 // wpbridge's own count (wpbridge_api_requests_total, api=wordpress)
	SendSpan    time.Duration
	Settle      time.Duration // first send to 0 pending; 0 when not waited for
	Settled     bool          // users and passwords counted after settling
	BacklogSecs float64
	Budget      float64    // -1: no backlog
	WPF         *wpfResult // WP Fusion on the same scenario in this run (-wpfusion); nil when not measured
}

// scenarioPhase runs the selected scenarios against one wpbridge and a fake AC
// answering after delay.
func (b *bench) scenarioPhase(ctx context.Context, o *options, delay time.Duration, rng *rand.Rand) ([]*scenResult, error) {
	ac := b.newFake(o.acRate)
	defer ac.Close()
	ac.SetDelay(delay)
	name := "scenarios-" + delay.String()
	p, err := b.start(ctx, name, ac)
	if err != nil {
		return nil, err
	}
	defer p.Kill()
	if err := b.warmUp(ctx, p.URL, ac, rng); err != nil {
		return nil, err
	}
	var out []*scenResult
	for i, sc := range o.scenarios {
		switch {
		case sc.N == 0 && sc.Kind == kindLone:
			sc.N = o.loneN
		case sc.N == 0:
			sc.N = o.burstN
		}
		b.logf("scenario %s, AC +%s", sc.Key, delay)
		r, err := b.runScenario(ctx, p.URL, ac, rng, sc, o, fmt.Sprintf("s%d-%d", i, delay.Milliseconds()))
		if err != nil {
			return out, fmt.Errorf("scenario %s (AC +%s): %w", sc.Key, delay, err)
		}
		r.Delay = delay
		out = append(out, r)
	}
	if err := p.Stop(30 * time.Second); err != nil {
		b.logf("wpbridge (%s) did not stop cleanly: %v", name, err)
	}
	return out, nil
}

// warmUp loads wpbridge's field and tag caches, as any running wpbridge has.
func (b *bench) warmUp(ctx context.Context, base string, ac *acfake.Server, rng *rand.Rand) error {
	h := b.scenarioContacts(ac, rng, "w"+strconv.FormatInt(b.lastID.Load()%1e6, 36), 1)[0]
	for _, action := range []string{"add", "update"} {
		h.Action = action
		if _, err := b.send(ctx, base, h, false); err != nil {
			return fmt.Errorf("warm-up %s: %w", action, err)
		}
	}
	_, err := b.waitSettled(ctx, base, time.Minute)
	return err
}

// scenarioContacts adds n new contacts to ac, emails unique to this run and
// name (short: WordPress logins, made from emails, end at 60 characters).
func (b *bench) scenarioContacts(ac *acfake.Server, rng *rand.Rand, name string, n int) []hook {
	out := make([]hook, n)
	run, _ := strconv.ParseInt(b.runID, 10, 64)
	for i := range out {
		email := fmt.Sprintf("wpb-%s-%s-%d@example.com", strconv.FormatInt(run, 36), name, i)
		id := b.addContact(ac, acfake.Contact{Email: email, FirstName: "Scn", LastName: strconv.Itoa(i), Tags: randomTags(rng)})
		out[i] = hook{ContactID: id, Email: email}
	}
	return out
}

// runScenario prepares the contacts, sends the webhooks, and measures.
// tag makes the scenario's emails unique within the run.
func (b *bench) runScenario(ctx context.Context, base string, ac *acfake.Server, rng *rand.Rand, sc scenario, o *options, tag string) (*scenResult, error) {
	hooks, err := b.scenarioHooks(ctx, ac, rng, sc, tag)
	if err != nil {
		return nil, err
	}
	res := &scenResult{scenario: sc, Budget: -1}
	if !sc.Linked {
		res.Contacts = len(hooks)
	}
	if sc.Seen {
		if err := b.seeContacts(ctx, base, hooks, o.stormTimeout); err != nil {
			return nil, err
		}
	}
	time.Sleep(1100 * time.Millisecond) // AC's window empties
	ac.ResetRequests()
	b.proxy.Take()
	before, err := b.scrape(ctx, base)
	if err != nil {
		return nil, fmt.Errorf("metrics before: %w", err)
	}
	poll := b.pollPending(ctx, base)
	start := time.Now()
	res.Answers = b.sendScenario(ctx, base, sc, hooks)
	res.Sent, res.SendSpan = len(res.Answers), time.Since(start)
	if !o.settle {
		if err := b.countOutcome(ctx, ac, hooks, res); err != nil {
			return nil, err
		}
	}
	done, err := b.waitSettled(ctx, base, o.stormTimeout)
	samples := poll()
	if err != nil {
		return nil, err
	}
	res.Settle, res.Settled = done.Sub(start), o.settle
	if o.settle {
		if err := b.countOutcome(ctx, ac, hooks, res); err != nil {
			return nil, err
		}
	}
	b.acOutcome(ac, res, samples, o.acRate)
	after, err := b.scrape(ctx, base)
	if err != nil {
		return nil, fmt.Errorf("metrics after: %w", err)
	}
	res.WPRequests = sumPrefix(after, `wpbridge_api_requests_total{api="wordpress"`) - sumPrefix(before, `wpbridge_api_requests_total{api="wordpress"`)
	return res, nil
}

// seeContacts gives wpbridge one round for each contact (an update_tags
// with the payload's tags) and waits until they are done.
func (b *bench) seeContacts(ctx context.Context, base string, hooks []hook, limit time.Duration) error {
	for _, h := range hooks {
		h.Action, h.HasTags = "update_tags", true
		if _, err := b.send(ctx, base, h, true); err != nil {
			return fmt.Errorf("warm-up webhook: %w", err)
		}
	}
	_, err := b.waitSettled(ctx, base, limit)
	return err
}

// scenarioHooks adds the scenario's contacts to AC (and their linked users to
// WordPress when the scenario says so) and returns one webhook per contact.
func (b *bench) scenarioHooks(ctx context.Context, ac *acfake.Server, rng *rand.Rand, sc scenario, tag string) ([]hook, error) {
	n := sc.N
	if sc.Kind == kindIdentical {
		n = 1
	}
	hooks := b.scenarioContacts(ac, rng, tag, n)
	if sc.Linked {
		all := map[string]bool{}
		for _, h := range hooks {
			all[h.ContactID] = true
		}
		if err := b.createLinkedUsers(ctx, hooks, all); err != nil {
			return nil, err
		}
	}
	for i := range hooks {
		hooks[i].Action, hooks[i].HasTags = sc.Action, sc.HasTags
		if sc.HasTags {
			hooks[i].Tags = randomTags(rng)
		}
	}
	return hooks, nil
}

// acOutcome fills the AC counts and, for bursts, the budget share.
func (b *bench) acOutcome(ac *acfake.Server, res *scenResult, samples []sample, rate int) {
	var arrivals []time.Time
	for _, r := range ac.Requests() {
		if r.Status != http.StatusTooManyRequests {
			arrivals = append(arrivals, r.At)
		}
	}
	res.AC, res.AC429, res.MaxInWindow = len(arrivals), ac.Throttled(), ac.MaxInWindow(time.Second)
	if res.Kind == kindPaced {
		spans := backlogSpans(samples, backlogThreshold)
		res.BacklogSecs = totalSeconds(spans)
		res.Budget = budgetShare(arrivals, spans, rate)
	}
}

// backlogThreshold: a backlog exists while at least this many webhooks are
// pending (more than one round wants AC's budget).
const backlogThreshold = 2

func sumPrefix(m map[string]float64, prefix string) float64 {
	t := 0.0
	for k, v := range m {
		if strings.HasPrefix(k, prefix) {
			t += v
		}
	}
	return t
}

// pollPending reads wpbridge_webhooks_pending every 50 ms until the returned
// stop function is called; stop returns the samples in time order.
func (b *bench) pollPending(ctx context.Context, base string) func() []sample {
	var mu sync.Mutex
	var out []sample
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if m, err := b.scrape(ctx, base); err == nil {
				mu.Lock()
				out = append(out, sample{At: time.Now(), Pending: m["wpbridge_webhooks_pending"]})
				mu.Unlock()
			}
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() []sample {
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		return out
	}
}

// sendScenario sends the webhooks the way the scenario's kind says.
func (b *bench) sendScenario(ctx context.Context, base string, sc scenario, hooks []hook) []answer {
	var mu sync.Mutex
	var out []answer
	var wg sync.WaitGroup
	one := func(h hook) {
		a := b.sendTimed(ctx, base, h, sc.Async)
		mu.Lock()
		out = append(out, a)
		mu.Unlock()
	}
	switch sc.Kind {
	case kindLone, kindSeq:
		for _, h := range hooks {
			one(h)
			if sc.Kind == kindLone {
				time.Sleep(1100 * time.Millisecond) // AC's window and wpbridge's limiter empty
			}
		}
	case kindIdentical:
		for range sc.N {
			wg.Go(func() { one(hooks[0]) })
		}
	case kindPaced:
		interval := sc.Span / time.Duration(len(hooks))
		start := time.Now()
		for i, h := range hooks {
			time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
			wg.Go(func() { one(h) })
		}
	}
	wg.Wait()
	return out
}

// acDeadline is how long AC waits for a webhook's answer.
const acDeadline = 5 * time.Second

// sendTimed sends h with AC's deadline and times the answer.
func (b *bench) sendTimed(ctx context.Context, base string, h hook, async bool) answer {
	cctx, cancel := context.WithTimeout(ctx, acDeadline)
	defer cancel()
	t0 := time.Now()
	code, err := b.send(cctx, base, h, async)
	a := answer{Status: strconv.Itoa(code), Latency: time.Since(t0)}
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (err != nil && cctx.Err() != nil):
		a.Status = "timeout"
	case err != nil:
		a.Status = "error"
	}
	return a
}

// countOutcome counts, among the scenario's own contacts, the WordPress users
// (for contacts that had none before) and the passwords written at AC.
func (b *bench) countOutcome(ctx context.Context, ac *acfake.Server, hooks []hook, res *scenResult) error {
	res.Users, res.Passwords = 0, 0
	for _, h := range hooks {
		for _, w := range ac.FieldWrites(h.ContactID) {
			if w.Field == b.pwField && w.Value != "" {
				res.Passwords++
				break
			}
		}
	}
	if res.Contacts == 0 {
		return nil
	}
	n, err := b.countUsers(ctx, hooks)
	res.Users = n
	return err
}

// countUsers looks each hook's email up in WordPress (directly, not through
// the counting proxy), 4 at a time.
func (b *bench) countUsers(ctx context.Context, hooks []hook) (int, error) {
	wp, err := wordpress.NewClient(b.site.URL, b.site.Username, b.site.AppPassword)
	if err != nil {
		return 0, fmt.Errorf("WordPress client: %w", err)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	found := 0
	sem := make(chan struct{}, 4)
	for _, h := range hooks {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			_, err := wp.Users.FindByEmail(cctx, h.Email)
			cancel()
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				found++
			case !errors.Is(err, wordpress.ErrNotFound) && firstErr == nil:
				firstErr = fmt.Errorf("find user of contact %s: %w", h.ContactID, err)
			}
		})
	}
	wg.Wait()
	return found, firstErr
}
