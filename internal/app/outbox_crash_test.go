package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/history"
	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

// wpbridge is killed (-9) as it asks the plugin for events (nothing stored
// yet) or as it acknowledges them (stored, not acknowledged): after a
// restart on the same database every sign-up reaches AC, and each is stored
// once (the events pulled again are skipped by their key).
func TestOutboxCrash_KillBetweenPullStoreAndAck(t *testing.T) {
	for _, at := range []string{"/outbox/events", "/outbox/ack"} {
		t.Run(strings.TrimPrefix(at, "/outbox/"), func(t *testing.T) { outboxCrash(t, at) })
	}
}

func outboxCrash(t *testing.T, killAt string) {
	site := lockOutbox(t)
	wp := site.Client(t)
	if _, err := wp.Outbox.Enable(t.Context(), []string{"activecampaign_contact_id"}); err != nil {
		t.Fatal(err)
	}
	const n = 5
	ids := make([]int64, n)
	emails := make([]string, n)
	for i := range n {
		emails[i] = wptest.UniqueEmail(t, fmt.Sprintf("crashsignup%d", i))
		ids[i] = site.Register(t, strings.TrimSuffix(emails[i], "@example.com"), emails[i])
	}
	t.Cleanup(func() {
		for _, id := range ids {
			wp.Users.Delete(context.Background(), id, 0)
		}
	})

	ac, _ := newAC(t, 5)
	c := newChild(t, ac)
	for k, v := range syncEnv() {
		c.env[k] = v
	}
	// A proxy in front of WordPress kills wpbridge when it reaches killAt.
	target, err := url.Parse(site.URL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	// The request is held until the test has killed the process (the test
	// goroutine owns c.p), then answered 502: the plugin never sees it.
	var armed atomic.Bool
	armed.Store(true)
	reached, killed := make(chan struct{}), make(chan struct{})
	px := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := r.URL.Path + "?" + r.URL.Query().Get("rest_route")
		if strings.Contains(route, killAt) && armed.CompareAndSwap(true, false) {
			close(reached)
			<-killed
			http.Error(w, "killed", http.StatusBadGateway)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(px.Close)
	c.env["WP_URL"] = px.URL
	c.start()
	select {
	case <-reached:
		c.p.Kill()
		close(killed)
	case <-time.After(60 * time.Second):
		t.Fatalf("wpbridge never reached %s\n%s", killAt, c.logs.String())
	}
	// Not acknowledged: the plugin still has the sign-ups.
	evs, err := wp.Outbox.Pull(t.Context(), 0, wordpress.MaxOutboxBatch)
	if err != nil {
		t.Fatal(err)
	}
	left := 0
	for _, ev := range evs {
		for _, id := range ids {
			if ev.UserID == id {
				left++
			}
		}
	}
	if left != n {
		t.Fatalf("events of the sign-ups pending after the kill = %d, want %d", left, n)
	}

	c.start() // the proxy passes everything now
	for i, email := range emails {
		waitACContact(t, ac, email, nil)
		waitContactIDMeta(t, wp, ids[i])
	}
	if err := c.p.Stop(30 * time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	c.p = nil
	db, err := store.Open(t.Context(), c.env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := history.New(db, nil)
	for _, id := range ids {
		ws, err := h.List(t.Context(), history.Filter{ContactID: fmt.Sprintf("wp-user:%d", id)})
		if err != nil {
			t.Fatal(err)
		}
		if len(ws) != 1 || ws[0].Source != "wordpress" || ws[0].State != "done" {
			t.Errorf("stored webhooks of user %d = %+v, want one done", id, ws)
		}
	}
	wait.For(t, 10*time.Second, "events acknowledged", func() (bool, string) {
		evs, err := wp.Outbox.Pull(t.Context(), 0, wordpress.MaxOutboxBatch)
		if err != nil {
			return false, err.Error()
		}
		for _, ev := range evs {
			for _, id := range ids {
				if ev.UserID == id {
					return false, fmt.Sprintf("event %d of user %d", ev.ID, id)
				}
			}
		}
		return true, ""
	})
}
