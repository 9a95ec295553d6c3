package app_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/app"
	"github.com/wpbridge/wpbridge/internal/history"
	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

// syncEnv is the environment of a bridge that sends WordPress to AC.
func syncEnv() map[string]string {
	return map[string]string{"SYNC_TO_AC": "true", "OUTBOX_POLL": "100ms", "REGISTRATION_TAGS": "WordPress member",
		"RETURN_PASSWORD_FIELD": ""}
}

// lockOutbox takes the site's outbox for the test (one switch for the whole
// site) and disables it at the end.
func lockOutbox(t *testing.T) wptest.Site {
	t.Helper()
	site := wptest.Env(t)
	site.LockOutbox(t)
	t.Cleanup(func() {
		if _, err := site.Client(t).Outbox.Disable(context.Background(), false); err != nil {
			t.Errorf("disable outbox: %v", err)
		}
	})
	return site
}

// waitACContact waits until the fake AC has a contact with email.
func waitACContact(t *testing.T, ac *acfake.Server, email string, cond func(acfake.Contact) bool) acfake.Contact {
	t.Helper()
	var c acfake.Contact
	wait.For(t, 30*time.Second, "contact "+email+" in AC", func() (bool, string) {
		var ok bool
		c, ok = ac.ContactByEmail(email)
		return ok && (cond == nil || cond(c)), fmt.Sprintf("%+v", c)
	})
	return c
}

// waitContactIDMeta waits until user id carries a contact id, and returns it.
func waitContactIDMeta(t *testing.T, wp *wordpress.Client, id int64) string {
	t.Helper()
	var got string
	wait.For(t, 30*time.Second, "contact id meta", func() (bool, string) {
		u, err := wp.Users.Get(t.Context(), id)
		if err != nil {
			return false, err.Error()
		}
		got = fmt.Sprint(u.Meta["activecampaign_contact_id"])
		return got != "" && got != "<nil>", got
	})
	return got
}

// wordpressWebhooks lists the stored webhooks of a user's events.
func wordpressWebhooks(t *testing.T, b *bridge, key string) []history.Webhook {
	t.Helper()
	ws, err := app.History(b.App.DB()).List(t.Context(), history.Filter{ContactID: key})
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// A visitor signs up while wpbridge is stopped: once it starts, the sign-up
// reaches AC (with REGISTRATION_TAGS), the user gets the contact id, and the
// history shows a webhook of source wordpress. A profile edit by the user
// then updates the contact; AC's webhook for that write is an echo.
func TestOutbox_SignUpWhileStoppedThenProfileEdit(t *testing.T) {
	site := lockOutbox(t)
	wp := site.Client(t)
	if _, err := wp.Outbox.Enable(t.Context(), []string{"activecampaign_contact_id"}); err != nil {
		t.Fatal(err) // as a wpbridge that ran before did
	}
	email := wptest.UniqueEmail(t, "signup")
	id := site.Register(t, strings.TrimSuffix(email, "@example.com"), email)
	t.Cleanup(func() { wp.Users.Delete(context.Background(), id, 0) })

	b := startBridgeWith(t, setup{Env: syncEnv()})
	c := waitACContact(t, b.AC, email, nil)
	if !slices.Contains(c.Tags, "WordPress member") {
		t.Errorf("AC contact tags = %v, want WordPress member", c.Tags)
	}
	if got := waitContactIDMeta(t, wp, id); got != c.ID {
		t.Errorf("contact id meta = %q, want %q", got, c.ID)
	}
	ws := wordpressWebhooks(t, b, fmt.Sprintf("wp-user:%d", id))
	if len(ws) != 1 || ws[0].Source != "wordpress" || ws[0].State != "done" || ws[0].UserID != id {
		t.Fatalf("stored webhooks of the sign-up = %+v", ws)
	}

	// The user edits the profile (its own request, not wpbridge's).
	me, err := wordpress.NewClient(site.URL, strings.TrimSuffix(email, "@example.com"), site.UserAppPassword(t, id))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := me.Users.Update(t.Context(), id, wordpress.UserRequest{Fields: map[string]string{"first_name": "Grace"}}); err != nil {
		t.Fatal(err)
	}
	waitACContact(t, b.AC, email, func(c acfake.Contact) bool { return c.FirstName == "Grace" })
	wait.For(t, 30*time.Second, "the edit's webhook done", func() (bool, string) {
		ws := wordpressWebhooks(t, b, c.ID)
		return len(ws) == 1 && ws[0].State == "done" && ws[0].Source == "wordpress", fmt.Sprintf("%+v", ws)
	})

	// AC's webhook for wpbridge's own write is an echo.
	echo := fmt.Sprintf("contact[id]=%s&contact[email]=%s&type=update&initiated_from=api", c.ID, strings.ReplaceAll(email, "+", "%2B"))
	r := b.post("/", hook("update"), echo)
	if r.Code != http.StatusOK || r.Status != "ignored" || !strings.Contains(r.Message, "echo") {
		t.Errorf("echo of the sync = %d %q %q, want 200 ignored (echo)", r.Code, r.Status, r.Message)
	}
	b.Stop()
}

// A user created by an add webhook (wpbridge's own write) is not sent back
// to AC; a sign-up after it is (which shows the outbox was pulled past it).
func TestOutbox_UserFromWebhookNotSentBack(t *testing.T) {
	site := lockOutbox(t)
	b := startBridgeWith(t, setup{Env: syncEnv()})
	email := wptest.UniqueEmail(t, "fromac")
	cid := b.addContact(acfake.Contact{Email: email, FirstName: "Ada"})
	r := b.post("/", hook("add"), contactBody(cid, email))
	if r.Status != "done" {
		t.Fatalf("add = %d %q %q", r.Code, r.Status, r.Message)
	}
	t.Cleanup(func() { b.deleteUserByEmail(email) })

	marker := wptest.UniqueEmail(t, "marker")
	mid := site.Register(t, strings.TrimSuffix(marker, "@example.com"), marker)
	t.Cleanup(func() { b.WP.Users.Delete(context.Background(), mid, 0) })
	waitACContact(t, b.AC, marker, nil)

	if ws := wordpressWebhooks(t, b, fmt.Sprintf("wp-user:%d", r.UserID)); len(ws) != 0 {
		t.Errorf("the add webhook's user was sent back: %+v", ws)
	}
	for _, w := range wordpressWebhooks(t, b, cid) {
		if w.Source == "wordpress" {
			t.Errorf("the add webhook's user was sent back: %+v", w)
		}
	}
}

// Without SYNC_TO_AC wpbridge disables the outbox at start: a sign-up is
// not recorded.
func TestOutbox_OffRecordsNothing(t *testing.T) {
	site := lockOutbox(t)
	wp := site.Client(t)
	if _, err := wp.Outbox.Enable(t.Context(), nil); err != nil {
		t.Fatal(err) // left on by an earlier run
	}
	startBridgeWith(t, setup{Env: map[string]string{"SYNC_TO_AC": "false"}})
	wait.For(t, 30*time.Second, "outbox disabled", func() (bool, string) {
		st, err := wp.Outbox.Status(t.Context())
		if err != nil {
			return false, err.Error()
		}
		return !st.Enabled, fmt.Sprintf("%+v", st)
	})
	email := wptest.UniqueEmail(t, "nosync")
	id := site.Register(t, strings.TrimSuffix(email, "@example.com"), email)
	t.Cleanup(func() { wp.Users.Delete(context.Background(), id, 0) })
	evs, err := wp.Outbox.Pull(t.Context(), 0, wordpress.MaxOutboxBatch)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.UserID == id {
			t.Errorf("sign-up recorded with SYNC_TO_AC=false: %+v", ev)
		}
	}
}
