package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/wpbridge/wpbridge/internal/testing/acfake"
)

// tagVocabulary is every tag the benchmark uses; it is created in each fake
// AC up front so that wpbridge's tag cache holds all of them after one load.
var tagVocabulary = []string{"Gold", "Silver", "Bronze", "VIP", "Newsletter", "Customer", "Lead", "Webinar"}

func randomTags(rng *rand.Rand) []string {
	n := 1 + rng.IntN(3)
	out := make([]string, 0, n)
	for _, i := range rng.Perm(len(tagVocabulary))[:n] {
		out = append(out, tagVocabulary[i])
	}
	return out
}

// user states a case starts from.
const (
	userNew    = "new"    // no WordPress user: add creates one
	userLinked = "linked" // a WordPress user linked to the contact
	userNone   = "nouser" // no user and the action does not create one
)

// costKey names a case: action, user state, payload tags or not.
func costKey(action, user string, hasTags bool) string {
	t := "no-tags"
	if hasTags {
		t = "tags"
	}
	return action + "/" + user + "/" + t
}

type costCase struct {
	Action  string
	User    string
	HasTags bool
	Label   string
}

var costCases = []costCase{
	{"add", userNew, true, "add, new contact, payload tags"},
	{"add", userNew, false, "add, new contact, no payload tags"},
	{"add", userLinked, true, "add, existing (linked) user, payload tags"},
	{"add", userLinked, false, "add, existing (linked) user, no payload tags"},
	{"update", userLinked, true, "update, payload tags"},
	{"update", userLinked, false, "update, no payload tags"},
	{"update_tags", userLinked, true, "update_tags, payload tags"},
	{"update_tags", userLinked, false, "update_tags, no payload tags"},
	{"update", userNone, true, "update, no WP user (ignored), payload tags"},
	{"update", userNone, false, "update, no WP user (ignored), no payload tags"},
	{"update_tags", userNone, true, "update_tags, no WP user (ignored), payload tags"},
	{"update_tags", userNone, false, "update_tags, no WP user (ignored), no payload tags"},
}

// costResult is what one webhook of a case cost.
type costResult struct {
	costCase
	Code     int
	Latency  time.Duration // sync answer (async=false)
	AC, WP   int
	ACDetail string
	WPDetail string
}

// costs sends one sync webhook per case (caches warmed first, each case with
// a real change to write) and counts the AC and WordPress requests it caused.
func (b *bench) costs(ctx context.Context, base string, ac *acfake.Server, rng *rand.Rand) (map[string]costResult, []costResult, error) {
	newContact := func(name string) hook {
		email := fmt.Sprintf("bench-%s-%s@example.com", b.runID, name)
		id := b.addContact(ac, acfake.Contact{Email: email, FirstName: name, LastName: "Bench", Tags: randomTags(rng)})
		return hook{ContactID: id, Email: email}
	}
	// Warm-up: create the linked user, and load the field list and the tag
	// names once, as any running wpbridge has done long before.
	linked, none := newContact("linked"), newContact("nouser")
	warm := linked
	for _, action := range []string{"add", "update"} {
		warm.Action = action
		if _, err := b.send(ctx, base, warm, false); err != nil {
			return nil, nil, fmt.Errorf("warm-up %s: %w", action, err)
		}
	}
	if _, err := b.waitSettled(ctx, base, time.Minute); err != nil {
		return nil, nil, fmt.Errorf("warm-up: %w", err)
	}

	byKey := map[string]costResult{}
	var list []costResult
	for i, c := range costCases {
		var h hook
		switch c.User {
		case userNew:
			h = newContact(fmt.Sprintf("new%d", i))
		case userLinked:
			h = linked
			// Change the contact in AC so the round has something to write.
			cur, _ := ac.Contact(h.ContactID)
			cur.FirstName = fmt.Sprintf("Linked%d", i)
			cur.Tags = tagsDifferentFrom(rng, cur.Tags)
			ac.AddContact(cur)
		case userNone:
			h = none
		}
		h.Action, h.HasTags = c.Action, c.HasTags
		if c.HasTags {
			cur, _ := ac.Contact(h.ContactID)
			h.Tags = tagsDifferentFrom(rng, cur.Tags)
		}
		// Let AC's 1s window empty so no 429 from earlier requests muddies
		// the count.
		time.Sleep(1100 * time.Millisecond)
		ac.ResetRequests()
		b.proxy.Take()
		t0 := time.Now()
		code, err := b.send(ctx, base, h, false)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", c.Label, err)
		}
		lat := time.Since(t0)
		if _, err := b.waitSettled(ctx, base, time.Minute); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", c.Label, err)
		}
		var acLabels []string
		throttled := 0
		for _, r := range ac.Requests() {
			if r.Status == http.StatusTooManyRequests {
				throttled++
				continue
			}
			acLabels = append(acLabels, acLabel(r))
		}
		wp := b.proxy.Take()
		r := costResult{costCase: c, Code: code, Latency: lat, AC: len(acLabels), WP: len(wp),
			ACDetail: countLabels(acLabels), WPDetail: countLabels(wp)}
		if throttled > 0 {
			r.ACDetail += fmt.Sprintf(" (+%d answered 429, not counted)", throttled)
		}
		byKey[costKey(c.Action, c.User, c.HasTags)] = r
		list = append(list, r)
	}
	return byKey, list, nil
}

// tagsDifferentFrom draws a tag set that differs from cur.
func tagsDifferentFrom(rng *rand.Rand, cur []string) []string {
	for range 20 {
		t := randomTags(rng)
		if fmt.Sprint(t) != fmt.Sprint(cur) {
			return t
		}
	}
	return []string{"Gold", "Silver", "Bronze"}
}
