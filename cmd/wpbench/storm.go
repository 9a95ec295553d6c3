package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/wordpress"
)

// stormConfig sizes the storm.
type stormConfig struct {
	Contacts, Webhooks, Senders int
	ExistingShare               float64 // share of contacts that already have a linked WP user
	DuplicateShare              float64 // share of webhooks that repeat an earlier one verbatim
	ACRate                      int
	Limit                       time.Duration // longest wait for the storm to settle
}

type stormResult struct {
	stormConfig
	Existing, Duplicates int
	Codes                map[int]int
	SendErrors           int
	SendTime             time.Duration // first send to last answer
	Settle               time.Duration // first send to no webhook pending
	Ideal                int           // AC requests if each contact got one coalesced round
	MinTime              time.Duration // Ideal / ACRate
	ACTotal, AC429       int
	MaxInWindow          int
	WPTotal              int
	Rounds               map[string]float64 // rounds of work by outcome
	Coalesced            float64
}

// storm sends Webhooks webhooks for Contacts contacts (mixed actions,
// duplicates, random order) as fast as Senders senders can, and times how
// long wpbridge takes to finish them all with AC limited to ACRate per second.
func (b *bench) storm(ctx context.Context, base string, ac *acfake.Server, rng *rand.Rand, costs map[string]costResult, cfg stormConfig) (*stormResult, error) {
	res := &stormResult{stormConfig: cfg, Codes: map[int]int{}, Rounds: map[string]float64{}}
	contacts := make([]hook, cfg.Contacts)
	for i := range contacts {
		email := fmt.Sprintf("bench-%s-storm-%d@example.com", b.runID, i)
		id := b.addContact(ac, acfake.Contact{Email: email, FirstName: "Storm", LastName: fmt.Sprint(i), Tags: randomTags(rng)})
		contacts[i] = hook{ContactID: id, Email: email}
	}
	existing := map[string]bool{}
	for _, i := range rng.Perm(len(contacts))[:int(float64(len(contacts))*cfg.ExistingShare)] {
		existing[contacts[i].ContactID] = true
	}
	if err := b.createLinkedUsers(ctx, contacts, existing); err != nil {
		return nil, err
	}
	res.Existing = len(existing)

	// Every contact gets one webhook, the rest go to random contacts; some
	// repeat an earlier webhook of the same contact verbatim; then shuffle.
	hooks := make([]hook, 0, cfg.Webhooks)
	byContact := map[string][]hook{}
	for i := 0; len(hooks) < cfg.Webhooks; i++ {
		c := contacts[rng.IntN(len(contacts))]
		if i < len(contacts) {
			c = contacts[i]
		}
		if prev := byContact[c.ContactID]; len(prev) > 0 && rng.Float64() < cfg.DuplicateShare {
			c = prev[rng.IntN(len(prev))]
			res.Duplicates++
		} else {
			c.Action = []string{"add", "update", "update_tags"}[rng.IntN(3)]
			if rng.IntN(2) == 0 {
				c.Tags, c.HasTags = randomTags(rng), true
			}
		}
		hooks = append(hooks, c)
		byContact[c.ContactID] = append(byContact[c.ContactID], c)
	}
	rng.Shuffle(len(hooks), func(i, j int) { hooks[i], hooks[j] = hooks[j], hooks[i] })

	ideal, err := idealRequests(hooks, existing, costs)
	if err != nil {
		return nil, err
	}
	res.Ideal = ideal
	res.MinTime = time.Duration(float64(ideal) / float64(cfg.ACRate) * float64(time.Second))

	before, err := b.scrape(ctx, base)
	if err != nil {
		return nil, fmt.Errorf("metrics before the storm: %w", err)
	}
	ac.ResetRequests()
	b.proxy.Take()

	start := time.Now()
	next := make(chan hook)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range cfg.Senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for h := range next {
				code, err := b.send(ctx, base, h, true)
				mu.Lock()
				if err != nil {
					res.SendErrors++
				} else {
					res.Codes[code]++
				}
				mu.Unlock()
			}
		}()
	}
	for _, h := range hooks {
		next <- h
	}
	close(next)
	wg.Wait()
	res.SendTime = time.Since(start)
	if res.Codes[http.StatusAccepted] != len(hooks) {
		return res, fmt.Errorf("storm: %d of %d webhooks acknowledged (answers %v, %d errors)",
			res.Codes[http.StatusAccepted], len(hooks), res.Codes, res.SendErrors)
	}
	done, err := b.waitSettled(ctx, base, cfg.Limit)
	if err != nil {
		return res, fmt.Errorf("storm: %w", err)
	}
	res.Settle = done.Sub(start)

	reqs := ac.Requests()
	res.ACTotal, res.AC429, res.MaxInWindow = len(reqs), ac.Throttled(), ac.MaxInWindow(time.Second)
	res.WPTotal = len(b.proxy.Take())
	after, err := b.scrape(ctx, base)
	if err != nil {
		return res, fmt.Errorf("metrics after the storm: %w", err)
	}
	for k, v := range after {
		if m := outcomeLabel.FindStringSubmatch(k); m != nil {
			res.Rounds[m[1]] += v - before[k]
		}
	}
	res.Coalesced = after["wpbridge_webhooks_coalesced_total"] - before["wpbridge_webhooks_coalesced_total"]
	return res, nil
}

var outcomeLabel = regexp.MustCompile(`^wpbridge_jobs_total\{.*outcome="([^"]+)".*\}$`)

// idealRequests is the number of AC requests the storm needs when every
// contact's webhooks are coalesced into one round (contactsync.Request.Merge
// in send order), each round costing what the same case cost in the
// per-action measurement.
func idealRequests(hooks []hook, existing map[string]bool, costs map[string]costResult) (int, error) {
	merged := map[string]contactsync.Request{}
	for _, h := range hooks {
		r := contactsync.Request{ContactID: h.ContactID, Action: contactsync.Action(h.Action), Tags: h.Tags, HasTags: h.HasTags}
		if prev, ok := merged[h.ContactID]; ok {
			r = prev.Merge(r)
		}
		merged[h.ContactID] = r
	}
	total := 0
	for id, r := range merged {
		user := userNone
		switch {
		case existing[id]:
			user = userLinked
		case r.Action == contactsync.ActionAdd:
			user = userNew
		}
		c, ok := costs[costKey(string(r.Action), user, r.HasTags)]
		if !ok {
			return 0, fmt.Errorf("no measured cost for %s", costKey(string(r.Action), user, r.HasTags))
		}
		total += c.AC
	}
	return total, nil
}

// createLinkedUsers creates, directly in WordPress (not through wpbridge or
// the counting proxy), a user linked to each contact marked existing.
func (b *bench) createLinkedUsers(ctx context.Context, contacts []hook, existing map[string]bool) error {
	wp, err := wordpress.NewClient(b.site.URL, b.site.Username, b.site.AppPassword)
	if err != nil {
		return fmt.Errorf("WordPress client: %w", err)
	}
	work := make(chan hook)
	errs := make(chan error, len(contacts))
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				_, err := wp.Users.Create(cctx, wordpress.UserRequest{
					Fields: map[string]string{"username": c.Email, "email": c.Email, "password": randomHex(12)},
					Roles:  []string{"subscriber"},
					Meta:   map[string]any{"activecampaign_contact_id": c.ContactID},
				})
				cancel()
				if err != nil {
					errs <- fmt.Errorf("create linked user for contact %s: %w", c.ContactID, err)
				}
			}
		}()
	}
	for _, c := range contacts {
		if existing[c.ContactID] {
			work <- c
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	return <-errs // nil when the channel is empty
}
