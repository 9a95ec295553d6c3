package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
)

// outboxBurst is the number of sign-ups of TestOutbox_BurstWithWebhooks:
// 100 by default (the suite's time), WPBRIDGE_OUTBOX_BURST for more (1,000
// takes about 3.5 minutes at AC's 5 requests per second).
func outboxBurst(t *testing.T) int {
	if s := os.Getenv("WPBRIDGE_OUTBOX_BURST"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("WPBRIDGE_OUTBOX_BURST=%q", s)
		}
		return n
	}
	return 100
}

// A burst of sign-ups while AC webhooks flow: both directions finish, and
// the fake AC never sees more than 5 requests in a second (nor answers 429).
func TestOutbox_BurstWithWebhooks(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	site := lockOutbox(t)
	wp := site.Client(t)
	n := outboxBurst(t)
	env := syncEnv()
	env["REGISTRATION_TAGS"] = "" // one AC request a sign-up
	b := startBridgeWith(t, setup{Env: env})
	wait.For(t, 30*time.Second, "outbox enabled", func() (bool, string) {
		st, err := wp.Outbox.Status(t.Context())
		return err == nil && st.Enabled, fmt.Sprint(err)
	})
	site.Register(t, "burst-first-"+strconv.FormatInt(time.Now().UnixNano(), 36), wptest.UniqueEmail(t, "burstfirst")) // allows registration
	emails := make([]string, n)
	for i := range emails {
		emails[i] = wptest.UniqueEmail(t, fmt.Sprintf("burst%d", i))
	}
	t.Cleanup(func() { deleteByEmails(t, site, emails) })

	// AC webhooks: adds of new contacts, sent while the sign-ups arrive.
	const hooks = 20
	hookEmails := make([]string, hooks)
	hookIDs := make([]string, hooks)
	for i := range hooks {
		hookEmails[i] = wptest.UniqueEmail(t, fmt.Sprintf("burstac%d", i))
		hookIDs[i] = b.addContact(acfake.Contact{Email: hookEmails[i], FirstName: "Hook"})
	}
	t.Cleanup(func() { deleteByEmails(t, site, hookEmails) })

	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range hooks {
			code, err := sendHook(b.URL, hook("add", "async", "true"), contactBody(hookIDs[i], hookEmails[i]))
			if err != nil || code != http.StatusAccepted && code != http.StatusOK {
				t.Errorf("add webhook %d: %d %v", i, code, err)
			}
			time.Sleep(time.Duration(n) * 10 * time.Millisecond) // spread over the sign-ups
		}
	}()
	work := make(chan string)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for email := range work {
				if err := signUp(site.URL, email); err != nil {
					t.Errorf("sign-up %s: %v", email, err)
				}
			}
		}()
	}
	for _, e := range emails {
		work <- e
	}
	close(work)
	wg.Wait()
	signedUp := time.Since(start)

	wait.For(t, time.Duration(n)*time.Second+2*time.Minute, "every sign-up in AC", func() (bool, string) {
		missing := 0
		for _, e := range emails {
			if _, ok := b.AC.ContactByEmail(e); !ok {
				missing++
			}
		}
		return missing == 0, fmt.Sprintf("%d of %d missing", missing, n)
	})
	synced := time.Since(start)
	waitSettled(t, b.URL, 2*time.Minute)
	for i, id := range hookIDs {
		if u, err := contactUser(site, b.WP, id, hookEmails[i]); err != nil || u == nil {
			t.Errorf("add webhook of contact %s: user %v, %v", id, u, err)
		}
	}
	t.Logf("burst: %d sign-ups (in %s) and %d add webhooks: every sign-up in AC after %s (%.2f sign-ups/s); max AC requests in 1s %d",
		n, signedUp.Round(time.Millisecond), hooks, synced.Round(time.Millisecond), float64(n)/synced.Seconds(), b.AC.MaxInWindow(time.Second))
	if got := b.AC.MaxInWindow(time.Second); got > 5 {
		t.Errorf("AC saw %d requests within 1s, limit 5", got)
	}
	if got := b.AC.Throttled(); got != 0 {
		t.Errorf("AC answered 429 %d times", got)
	}
}

// signUp posts WordPress's registration form, as a visitor does.
func signUp(base, email string) error {
	form := url.Values{"user_login": {strings.TrimSuffix(email, "@example.com")}, "user_email": {email}, "wp-submit": {"Register"}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/wp-login.php?action=register", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.Contains(loc, "checkemail=registered") {
		return fmt.Errorf("answer %d, Location %q", resp.StatusCode, loc)
	}
	return nil
}

// deleteByEmails deletes the users with these emails.
func deleteByEmails(t *testing.T, site wptest.Site, emails []string) {
	wp := site.Client(t)
	var ids []int64
	for _, e := range emails {
		found, _ := site.UserIDsWithEmail(context.Background(), e)
		ids = append(ids, found...)
	}
	deleteUsers(t, wp, ids)
}
