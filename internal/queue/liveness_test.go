package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/fleet"
	"github.com/wpbridge/wpbridge/internal/testing/pgtest"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

// A live replica's round is never handed to another replica, however long
// it runs; once the replica is gone (its sessions end, as with kill -9), its
// job is resumed by another replica within seconds, not after River's
// time-based rescue.
func TestPostgresRescueGoneReplica(t *testing.T) {
	u := pgtest.SchemaURL(t)
	proxy, viaProxy := pgtest.NewProxy(t, u)
	gate, entered := make(chan struct{}), make(chan struct{}, 1)
	slow := &fakeRunner{run: func(ctx context.Context, req contactsync.Request, n int) (contactsync.Result, error) {
		entered <- struct{}{}
		<-gate
		return contactsync.Result{}, errors.New("interrupted")
	}}
	a := openEnv(t, viaProxy, slow, nil, fastOptions()) // the replica that will be gone
	b := openEnv(t, u, nil, nil, fastOptions())
	t.Cleanup(func() { proxy.Restore(); close(gate) }) // before a and b close
	a.start()
	o := a.submit(hook("pg-gone-1", contactsync.ActionAdd))
	select {
	case <-entered:
	case <-time.After(20 * time.Second):
		t.Fatal("runner never called")
	}
	b.start()
	time.Sleep(2*fleet.RescueInterval + time.Second) // the live round outlasts two rescues by b
	if state, attempt := b.pgJobOf(o.WebhookID); state != "running" || attempt != 1 {
		t.Fatalf("live job after %s: %s at attempt %d, want running at 1", 2*fleet.RescueInterval, state, attempt)
	}
	if n := len(b.runner.CallsFor("pg-gone-1")); n != 0 {
		t.Fatalf("b ran %d rounds of a live replica's job", n)
	}

	proxy.Cut() // a's sessions end: its locks are gone, as after kill -9
	gone := time.Now()
	wait.For(t, 30*time.Second, "b to resume the job", func() (bool, string) {
		out := b.outcome(o.WebhookID)
		return out.State == webhook.StateDone, fmt.Sprintf("webhook %d: %+v", o.WebhookID, out)
	})
	took := time.Since(gone)
	t.Logf("job of the gone replica resumed after %s", took.Round(100*time.Millisecond))
	if took > 3*fleet.RescueInterval {
		t.Errorf("resumed after %s, want within %s", took, 3*fleet.RescueInterval)
	}
	if n := len(b.runner.CallsFor("pg-gone-1")); n != 1 {
		t.Errorf("rounds on b = %d, want 1", n)
	}
	wait.For(t, 20*time.Second, "the job completed at its second attempt", func() (bool, string) {
		state, attempt := b.pgJobOf(o.WebhookID)
		return state == "completed" && attempt == 2, fmt.Sprintf("job: %s at attempt %d", state, attempt)
	})
	var errs string
	if err := b.db.QueryRow(`SELECT errors::text FROM river_job WHERE (args->>'webhook_id')::bigint = $1`, o.WebhookID).Scan(&errs); err != nil ||
		!strings.Contains(errs, "replica gone") {
		t.Errorf("job errors = %q (%v), want the rescue recorded", errs, err)
	}
}
