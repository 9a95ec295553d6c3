package queue

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

// loadEnv is a started queue whose rounds each send 3 requests to a fake AC
// through the metrics' client, as the real rounds do; rounds of contacts
// named "held…" wait until the test ends.
func loadEnv(t *testing.T, rate int) *env {
	ac := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(ac.Close)
	release := make(chan struct{})
	r := &fakeRunner{}
	opts := fastOptions()
	opts.ACRateLimit = rate
	e := openEnv(t, "", r, nil, opts)
	t.Cleanup(func() { close(release) }) // before the queue stops (cleanups run last first)
	hc := e.m.HTTPClient(acAPI)
	r.run = func(ctx context.Context, req contactsync.Request, _ int) (contactsync.Result, error) {
		for range 3 {
			resp, err := hc.Get(ac.URL)
			if err != nil {
				return contactsync.Result{}, err
			}
			resp.Body.Close()
		}
		if strings.HasPrefix(req.ContactID, "held") {
			select {
			case <-release:
			case <-ctx.Done():
				return contactsync.Result{}, ctx.Err()
			}
		}
		return contactsync.Result{Status: contactsync.StatusDone, Message: "synced"}, nil
	}
	e.start()
	return e
}

// A lone webhook, and webhooks sent back to back, are waited for and get
// their result, even where the budget would not fit as many webhooks
// pending at once (3 AC requests a round at 1 a second: 3 s each, 30 s for
// 10, longer than the 20 s wait).
func TestWaitHoldsLoneWebhooks(t *testing.T) {
	e := loadEnv(t, 1)
	const wait = 20 * time.Second
	for i := range 10 {
		o := e.submit(hook(fmt.Sprint("seq", i), contactsync.ActionAdd))
		got, err := e.q.Wait(context.Background(), o.WebhookID, wait)
		if err != nil || got.State != webhook.StateDone {
			t.Fatalf("webhook %d of 10 back to back: Wait = %+v, %v; want done", i+1, got, err)
		}
	}
}

// The webhooks of a burst beyond what AC's budget can do within the wait are
// answered at once, before a round under the burst has finished.
func TestWaitGivesUpAtOnceInABurst(t *testing.T) {
	e := loadEnv(t, 5)
	first := e.submit(hook("lone", contactsync.ActionAdd))
	if got, err := e.q.Wait(context.Background(), first.WebhookID, time.Minute); err != nil || got.State != webhook.StateDone {
		t.Fatalf("lone webhook: Wait = %+v, %v; want done", got, err)
	}
	// 40 rounds of 3 requests at 5 a second: 24 s at least, more than the
	// wait of 20 s. None of them can finish: they are held.
	var last int64
	for i := range 40 {
		last = e.submit(hook(fmt.Sprint("held", i), contactsync.ActionAdd)).WebhookID
	}
	type waited struct {
		o   webhook.Outcome
		err error
	}
	done := make(chan waited, 1)
	go func() {
		o, err := e.q.Wait(context.Background(), last, 20*time.Second)
		done <- waited{o, err}
	}()
	select {
	case w := <-done:
		if w.err != nil || w.o.Final() {
			t.Errorf("Wait = %+v, %v; want pending", w.o, w.err)
		}
	case <-time.After(10 * time.Second): // half the wait: it was held
		t.Fatal("the last webhook of a burst was held instead of answered at once")
	}
}
