package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/childproc"
	"github.com/wpbridge/wpbridge/internal/testing/syncbuf"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
)

// child is wpbridge running as a separate process on one database.
type child struct {
	t    *testing.T
	bin  string
	env  map[string]string
	logs *syncbuf.Buffer
	p    *childproc.Process
}

func newChild(t *testing.T, ac *acfake.Server) *child {
	t.Helper()
	site := wptest.Env(t)
	c := &child{t: t, bin: childproc.Binary(t), logs: &syncbuf.Buffer{},
		env: baseEnv(site, ac.URL(), filepath.Join(t.TempDir(), "wpbridge.db"))}
	c.env["LOG_FORMAT"] = "json"
	c.env["WPBRIDGE_TEST_LEAVE_OUTBOX"] = "1" // outbox tests may run beside on this WordPress
	t.Cleanup(func() {
		if c.p != nil {
			_ = c.p.Stop(30 * time.Second)
		}
	})
	return c
}

// start starts (or restarts) the process on the same database.
func (c *child) start() {
	c.t.Helper()
	addr, err := childproc.FreeAddr()
	if err != nil {
		c.t.Fatal(err)
	}
	c.env["LISTEN_ADDR"] = addr
	var env []string
	for k, v := range c.env {
		env = append(env, k+"="+v)
	}
	p, err := childproc.Start(c.t.Context(), c.bin, env, c.logs)
	if err != nil {
		c.t.Fatalf("start wpbridge: %v\n%s", err, c.logs.String())
	}
	c.p = p
}

// crashContact is one new contact of a crash test.
type crashContact struct{ id, email string }

// crashStorm adds n new contacts to ac and sends 3 async webhooks for each
// (add first, then update and update_tags, shuffled across contacts),
// from 8 senders. It fails the test unless every webhook is acknowledged.
func crashStorm(t *testing.T, base string, ac *acfake.Server, n int) []crashContact {
	t.Helper()
	idBase := reserveContactIDs(n)
	rng := rand.New(rand.NewPCG(testSeed(t), 7))
	var cs []crashContact
	type hk struct {
		c      crashContact
		action string
	}
	var adds, rest []hk
	for i := range n {
		c := crashContact{id: strconv.FormatInt(idBase+int64(i), 10), email: wptest.UniqueEmail(t, fmt.Sprintf("crash%d", i))}
		ac.AddContact(acfake.Contact{ID: c.id, Email: c.email, FirstName: "Crash", LastName: strconv.Itoa(i), Tags: []string{"Crash"}})
		cs = append(cs, c)
		adds = append(adds, hk{c, "add"})
		rest = append(rest, hk{c, "update"}, hk{c, "update_tags"})
	}
	rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	all := append(adds, rest...)
	work := make(chan hk)
	var bad, sent int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for h := range work {
				code, err := sendHook(base, hook(h.action, "async", "true"), contactBody(h.c.id, h.c.email, "Crash"))
				mu.Lock()
				sent++
				if err != nil || code < 200 || code > 299 {
					bad++
				}
				mu.Unlock()
			}
		}()
	}
	for _, h := range all {
		work <- h
	}
	close(work)
	wg.Wait()
	if bad > 0 {
		t.Fatalf("%d of %d webhooks not acknowledged with 2xx", bad, sent)
	}
	return cs
}

// checkCrashContacts checks that every contact has its one user (see
// contactUser) and that its password reached AC with one value that logs in.
// A second write of the same value is allowed only when the first was sent
// before the kill (the process died between AC's answer and recording it).
func checkCrashContacts(t *testing.T, ac *acfake.Server, cs []crashContact, killedAt time.Time) (dupes int) {
	t.Helper()
	site := wptest.Env(t)
	wp := site.Client(t)
	var ids []int64
	t.Cleanup(func() { deleteUsers(t, wp, ids) })
	for i, c := range cs {
		u, err := contactUser(site, wp, c.id, c.email)
		if err != nil {
			t.Errorf("contact %s: %v", c.id, err)
			if more, err := site.UserIDsWithEmail(context.Background(), c.email); err == nil {
				ids = append(ids, more...) // none, or duplicates
			}
			continue
		}
		ids = append(ids, u.ID)
		if got := u.MetaStrings("activecampaign_tags"); len(got) != 1 || got[0] != "Crash" {
			t.Errorf("contact %s: tags %q", c.id, got)
		}
		ws := ac.FieldWrites(c.id)
		if len(ws) == 0 {
			t.Errorf("contact %s: no password written to AC", c.id)
			continue
		}
		for _, w := range ws[1:] {
			if w.Value != ws[0].Value {
				t.Errorf("contact %s: two different passwords written to AC", c.id)
			}
		}
		if len(ws) > 1 {
			dupes++
			if len(ws) > 2 || !ws[0].At.Before(killedAt) {
				t.Errorf("contact %s: password written %d times, not explained by the kill", c.id, len(ws))
			}
		}
		if i%5 == 0 || len(ws) > 1 {
			if !site.CheckPassword(t, u.Username, ws[0].Value) {
				t.Errorf("contact %s: the password written to AC does not log in", c.id)
			}
		}
	}
	return dupes
}

// TestCrashMidWork kills wpbridge with SIGKILL while it works through 150
// acknowledged webhooks, restarts it on the same database, and checks every
// webhook's effect happened once.
func TestCrashMidWork(t *testing.T) {
	ac, _ := newAC(t, 5)
	c := newChild(t, ac)
	c.start()
	const n = 50
	cs := crashStorm(t, c.p.URL, ac, n)
	killAfterAThird(t, c, ac, cs, "passwords")
	killedAt := time.Now()
	written := 0
	for _, x := range cs {
		if len(ac.FieldWrites(x.id)) > 0 {
			written++
		}
	}
	c.start()
	waitSettled(t, c.p.URL, 3*time.Minute)
	dupes := checkCrashContacts(t, ac, cs, killedAt) // one user per contact
	t.Logf("crash mid-work: killed with %d of %d passwords written; after restart all %d done; %d passwords written twice (same value, first write before the kill)",
		written, n, n, dupes)
	if err := c.p.Stop(30 * time.Second); err != nil {
		t.Errorf("stop: %v", err)
	}
	checkSecrets(t, c.logs.String(), ac, contactIDs(cs), testAccessKey, testACKey, wptest.Env(t).AppPassword)
	// The restarted process starts with a full window, so the two processes
	// together keep the limit too.
	if n := ac.MaxInWindow(time.Second); n > 5 {
		t.Errorf("AC saw up to %d requests within 1s across the kill and restart, limit 5", n)
	}
}

// TestCrashAfterAcks kills wpbridge right after it acknowledged webhooks,
// before it could do the work; the restarted process does all of it.
func TestCrashAfterAcks(t *testing.T) {
	ac, _ := newAC(t, 5)
	ac.SetDelay(2 * time.Second) // no round can finish before the kill
	c := newChild(t, ac)
	c.start()
	const n = 15
	cs := crashStorm(t, c.p.URL, ac, n)
	c.p.Kill()
	killedAt := time.Now()
	ac.SetDelay(0)
	for _, x := range cs {
		if len(ac.FieldWrites(x.id)) > 0 {
			t.Fatalf("a password was written before the kill; the test cannot tell what the restart did")
		}
	}
	c.start()
	waitSettled(t, c.p.URL, 2*time.Minute)
	if dupes := checkCrashContacts(t, ac, cs, killedAt); dupes != 0 {
		t.Errorf("%d passwords written twice", dupes)
	}
	if err := c.p.Stop(30 * time.Second); err != nil {
		t.Errorf("stop: %v", err)
	}
	checkSecrets(t, c.logs.String(), ac, contactIDs(cs), testAccessKey, testACKey, wptest.Env(t).AppPassword)
}

func contactIDs(cs []crashContact) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.id)
	}
	return out
}

// killAfterAThird kills the child once a third of the storm's contacts got
// their field written at AC (what names those values in the failure).
func killAfterAThird(t *testing.T, c *child, ac *acfake.Server, cs []crashContact, what string) {
	t.Helper()
	n := len(cs)
	wait.For(t, 2*time.Minute, "a third of the "+what+" to be written", func() (bool, string) {
		done := 0
		for _, x := range cs {
			if len(ac.FieldWrites(x.id)) > 0 {
				done++
			}
		}
		return done >= n/3, fmt.Sprintf("%d of %d written", done, n)
	})
	c.p.Kill()
}
