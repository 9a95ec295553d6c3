package queue

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/testing/pgtest"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

// On PostgreSQL, rejected credentials on one replica pause every replica:
// another one reports the pause in Ready and runs no round until it ends,
// and a round that succeeds afterwards clears it for all.
func TestPostgresAuthPauseSharedByReplicas(t *testing.T) {
	u := pgtest.SchemaURL(t)
	opts := fastOptions()
	opts.AuthPause = 3 * time.Second // long enough to be seen by a poll
	var first atomic.Pointer[Queue]
	var ranWhilePaused atomic.Int32
	r := &fakeRunner{run: func(ctx context.Context, req contactsync.Request, n int) (contactsync.Result, error) {
		if first.Load().pausedFor() > 0 {
			ranWhilePaused.Add(1)
		}
		if req.ContactID == "pg-auth-1" && n == 1 {
			return contactsync.Result{}, errAuth
		}
		return contactsync.Result{Status: contactsync.StatusDone, Message: "ok"}, nil
	}}
	a := openEnv(t, u, r, classify, opts)
	first.Store(a.q)
	a.start()
	ctx := context.Background()
	failed := a.submit(hook("pg-auth-1", contactsync.ActionAdd))
	wait.For(t, 20*time.Second, "the first replica to pause", func() (bool, string) {
		return a.q.Ready(ctx) != nil, "Ready = nil on the replica whose round was refused"
	})

	b := openEnv(t, u, r, classify, opts) // never saw a refusal itself
	b.start()
	if err := b.q.Ready(ctx); err == nil || !strings.Contains(err.Error(), "ActiveCampaign rejected the credentials") {
		t.Fatalf("Ready on the other replica = %v, want the pause and its reason", err)
	}
	if d := b.q.pausedFor(); d <= 0 || d > opts.AuthPause {
		t.Errorf("pausedFor on the other replica = %v, want (0, %v]", d, opts.AuthPause)
	}
	other := b.submit(hook("pg-auth-2", contactsync.ActionAdd))
	for _, o := range b.waitFinal(failed.WebhookID, other.WebhookID) {
		if o.State != webhook.StateDone {
			t.Errorf("webhook %+v, want done after the pause", o)
		}
	}
	if n := ranWhilePaused.Load(); n != 0 {
		t.Errorf("%d rounds ran while the fleet was paused", n)
	}
	for name, e := range map[string]*env{"first": a, "other": b} {
		wait.For(t, 10*time.Second, "the pause to be cleared", func() (bool, string) {
			err := e.q.Ready(ctx)
			return err == nil, fmt.Sprintf("Ready on the %s replica after a success = %v", name, err)
		})
	}
}
