package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/app"
	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
)

// stormContact is one contact of the storm and what it must end as.
type stormContact struct {
	id, email       string
	isNew           bool // created by the storm (else linked before it)
	tagsOnly        bool // gets only update_tags webhooks in the storm
	role            string
	first, last     string // expected names
	tags            []string
	hooks           []stormHook
	userID          int64
	getContact, put int // AC requests seen for it
}

type stormHook struct {
	action, role string
}

// stormPlan builds the contacts and their webhooks: new contacts get one or
// two adds plus updates and update_tags (with duplicates), linked contacts
// get updates, adds and update_tags, or only update_tags.
func stormPlan(t *testing.T, base int64, nNew, nOld, perContact int) []*stormContact {
	var out []*stormContact
	for i := range nNew + nOld {
		c := &stormContact{
			id:    strconv.FormatInt(base+int64(i), 10),
			email: wptest.UniqueEmail(t, fmt.Sprintf("storm%d", i)),
			isNew: i < nNew,
			first: fmt.Sprintf("Post%d", i), last: "Storm",
			tags: []string{"Storm", fmt.Sprintf("Group %d", i%5)},
		}
		if i%2 == 0 {
			c.role = "customer"
		}
		actions := []string{"add", "update", "update_tags", "update", "update_tags"}
		switch {
		case c.isNew:
			if i%3 == 0 {
				actions[1] = "add" // a duplicate add
			}
		case i%5 == 0: // a fifth of the linked contacts: tags only
			c.tagsOnly = true
			c.first, c.last = "Pre", fmt.Sprintf("User%d", i)
			actions = []string{"update_tags", "update_tags", "update_tags", "update_tags", "update_tags"}
		case i%5 == 1:
			actions[0] = "update"
		}
		actions = actions[:perContact]
		for _, a := range actions {
			c.hooks = append(c.hooks, stormHook{action: a, role: c.role})
		}
		out = append(out, c)
	}
	return out
}

// TestStorm sends 1,000 webhooks for 200 contacts as fast as 32 senders can,
// against the fake AC enforcing 5 requests/second, and checks the end state,
// the rate limit and that coalescing kept AC requests near their minimum.
func TestStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("storm takes about a minute")
	}
	const nNew, nOld, perContact, senders = 100, 100, 5, 32
	rng := rand.New(rand.NewPCG(testSeed(t), 7))
	contacts := stormPlan(t, reserveContactIDs(nNew+nOld), nNew, nOld, perContact)
	byID := map[string]*stormContact{}
	for _, c := range contacts {
		byID[c.id] = c
	}

	linkBeforeStorm(t, contacts)

	// The storm, against the rate-limited fake.
	b := startBridge(t, nil, app.Options{})
	for i, c := range contacts {
		b.addContact(acfake.Contact{ID: c.id, Email: c.email, FirstName: fmt.Sprintf("Post%d", i), LastName: "Storm", Tags: c.tags})
	}
	all := stormOrder(rng, contacts)
	b.AC.ResetRequests()
	start := time.Now()
	sendStorm(t, b.URL, all, senders)
	acked := time.Since(start)
	waitSettled(t, b.URL, 4*time.Minute)
	settle := time.Since(start)

	// AC requests against the minimum that coalescing allows.
	reqs := b.AC.Requests()
	fieldLoads := 0
	for _, r := range reqs {
		rest, _ := strings.CutPrefix(r.Path, "/api/3/")
		seg := strings.Split(rest, "/")
		switch {
		case rest == "fields":
			fieldLoads++
		case len(seg) == 2 && seg[0] == "contacts" && byID[seg[1]] != nil && r.Method == http.MethodGet:
			byID[seg[1]].getContact++
		case len(seg) == 2 && seg[0] == "contacts" && byID[seg[1]] != nil && r.Method == http.MethodPut:
			byID[seg[1]].put++
		default:
			t.Errorf("unexpected AC request %s %s", r.Method, r.Path)
		}
	}
	minimum, extraRounds := 1, 0 // one GET /fields resolves %WP_PASSWORD%
	for _, c := range contacts {
		want := 0
		switch {
		case c.isNew:
			want = 2 // GET contact, PUT password
		case !c.tagsOnly:
			want = 1 // GET contact; update_tags carry their tags
		}
		minimum += want
		if c.getContact+c.put > want {
			extraRounds++
		}
	}
	maxWin := b.AC.MaxInWindow(time.Second)
	t.Logf("storm: %d webhooks for %d contacts acked in %s; settled in %s; theoretical minimum %s (%d AC requests x 0.2s)",
		len(all), len(contacts), acked.Round(time.Millisecond), settle.Round(time.Millisecond),
		time.Duration(minimum)*200*time.Millisecond, minimum)
	if maxWin > 5 {
		t.Errorf("AC saw %d requests within 1s, limit 5", maxWin)
	}
	if n := b.AC.Throttled(); n != 0 {
		t.Errorf("AC answered 429 %d times", n)
	}
	if fieldLoads != 1 {
		t.Errorf("GET /fields = %d, want 1 (cached)", fieldLoads)
	}

	// Webhooks that arrived after their contact's round had claimed need a
	// round of their own. The bound counts such rounds only where the
	// database shows every webhook of the later round was received after the
	// earlier round started (1s slack: a store under load); other contacts
	// count at their one-round minimum.
	b.Stop()
	rounds := stormRounds(t, b.DBPath)
	bound, multi, unforced := 1, 0, 0
	for _, c := range contacts {
		rs := rounds[c.id]
		cost, forced, err := roundsCost(rs, !c.isNew, time.Second)
		if err != nil {
			t.Errorf("contact %s: %v", c.id, err)
		}
		oneRound := 0
		switch {
		case c.isNew:
			oneRound = 2
		case !c.tagsOnly:
			oneRound = 1
		}
		if len(rs) > 1 {
			multi++
		}
		if !forced {
			unforced++
			cost = oneRound
		}
		bound += cost
	}
	t.Logf("storm: AC requests %d; one-round minimum %d (+%.1f%%); %d contacts had more than one round (%d needed more AC requests), "+
		"%d of them only because webhooks arrived after the earlier round started; minimum with those rounds %d (+%.1f%%); "+
		"GET /fields %d; max in any 1s %d; throttled %d",
		len(reqs), minimum, pct(len(reqs), minimum), multi, extraRounds, multi-unforced, bound, pct(len(reqs), bound),
		fieldLoads, maxWin, b.AC.Throttled())
	if len(reqs) > bound*110/100 {
		t.Errorf("AC requests = %d, more than 10%% above the minimum %d", len(reqs), bound)
	}

	// End state in WordPress and AC.
	checkStormUsers(t, b, contacts, nil)
}

// checkStormUsers checks that every contact, new or linked before, has its one
// user (see contactUser; no duplicate was created) with the expected fields and
// password. It deletes the users the storm created when the test ends.
//
// excuse, when not nil, may take problems off a contact's list: what a
// test's faults make expected.
func checkStormUsers(t *testing.T, b *bridge, contacts []*stormContact, excuse func(c *stormContact, problems []string) []string) {
	t.Helper()
	var mu sync.Mutex
	var newIDs []int64 // users the storm created
	t.Cleanup(func() { deleteUsers(t, b.WP, newIDs) })
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	loginChecks := 0
	for _, c := range contacts {
		check := c.isNew && loginChecks < 20
		if check {
			loginChecks++
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ids, problems := checkStormUser(t, b, c, check)
			if excuse != nil {
				problems = excuse(c, problems)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, id := range ids {
				if id != c.userID { // the users linked before are deleted with pre's
					newIDs = append(newIDs, id)
				}
			}
			if len(problems) > 0 {
				t.Errorf("contact %s: %s", c.id, strings.Join(problems, "; "))
			}
		}()
	}
	wg.Wait()
}

// checkStormUser returns the ids of the users with c's email and what is
// wrong with c's user.
func checkStormUser(t *testing.T, b *bridge, c *stormContact, login bool) (ids []int64, problems []string) {
	u, err := contactUser(b.Site, b.WP, c.id, c.email)
	if err != nil {
		ids, _ = b.Site.UserIDsWithEmail(context.Background(), c.email) // none, or duplicates
		return ids, []string{err.Error()}
	}
	ids = []int64{u.ID}
	if !c.isNew && u.ID != c.userID {
		problems = append(problems, fmt.Sprintf("user %d, want the user %d linked before the storm", u.ID, c.userID))
	}
	wantRole := "subscriber"
	if c.role != "" && !c.tagsOnly {
		wantRole = c.role
	}
	if !slices.Equal(u.Roles, []string{wantRole}) {
		problems = append(problems, fmt.Sprintf("roles %v, want [%s]", u.Roles, wantRole))
	}
	if u.FirstName != c.first || u.LastName != c.last {
		problems = append(problems, fmt.Sprintf("names %q %q, want %q %q", u.FirstName, u.LastName, c.first, c.last))
	}
	if got := u.MetaStrings("activecampaign_tags"); !slices.Equal(got, c.tags) {
		problems = append(problems, fmt.Sprintf("tags %q, want %q", got, c.tags))
	}
	if !strings.EqualFold(u.Email, c.email) {
		problems = append(problems, "email differs")
	}
	writes := b.AC.FieldWrites(c.id)
	switch {
	case !c.isNew && len(writes) != 0:
		problems = append(problems, fmt.Sprintf("%d passwords written for a linked user", len(writes)))
	case c.isNew && len(writes) != 1:
		problems = append(problems, fmt.Sprintf("%d passwords written, want 1", len(writes)))
	case c.isNew && login && !b.Site.CheckPassword(t, u.Username, writes[0].Value):
		problems = append(problems, "the password written to AC does not log in")
	}
	return ids, problems
}

func pct(n, of int) float64 { return 100 * float64(n-of) / float64(of) }
