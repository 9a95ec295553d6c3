package queue

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/metrics"
	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/internal/testing/pgtest"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

// pgJobOf is jobOf on PostgreSQL.
func (e *env) pgJobOf(id int64) (state string, attempt int) {
	e.t.Helper()
	err := e.db.QueryRow(`SELECT state, attempt FROM river_job WHERE kind = 'contact_sync'
		AND (args->>'webhook_id')::bigint = $1`, id).Scan(&state, &attempt)
	if err != nil {
		e.t.Fatalf("read job of webhook %d: %v", id, err)
	}
	return state, attempt
}

// Webhooks are worked on PostgreSQL as on SQLite: rounds per contact, what
// arrived for a contact merged, outcomes recorded.
func TestPostgresRounds(t *testing.T) {
	e := openEnv(t, pgtest.SchemaURL(t), nil, nil, fastOptions())
	e.start()
	a1 := e.submit(hook("pg-1", contactsync.ActionAdd))
	a2 := e.submit(hook("pg-1", contactsync.ActionUpdate))
	b := e.submit(hook("pg-2", contactsync.ActionAdd))
	for _, o := range e.waitFinal(a1.WebhookID, a2.WebhookID, b.WebhookID) {
		if o.State != webhook.StateDone && o.State != webhook.StateIgnored { // ignored: covered by the merged round
			t.Errorf("webhook %d = %+v, want done", o.WebhookID, o)
		}
	}
	if n := len(e.runner.CallsFor("pg-2")); n != 1 {
		t.Errorf("rounds for pg-2 = %d, want 1", n)
	}
	if calls := e.runner.CallsFor("pg-1"); len(calls) == 0 || len(calls) > 2 || calls[0].Action != contactsync.ActionAdd {
		t.Errorf("rounds for pg-1 = %+v, want 1 or 2 starting with add", calls)
	}
	if e.runner.overlaps.Load() != 0 {
		t.Error("two rounds for one contact overlapped")
	}
	wait.For(t, 20*time.Second, "the expected state", func() (bool, string) {
		state, attempt := e.pgJobOf(b.WebhookID)
		return state == "completed" && attempt == 1, fmt.Sprintf("job of webhook %d: %s at attempt %d, want completed at 1", b.WebhookID, state, attempt)
	})
}

// On PostgreSQL a job marked running may belong to a live replica: a replica
// that starts leaves it alone (River's rescuer takes it back only once it has
// run longer than RescueStuckJobsAfter).
func TestPostgresStartLeavesLiveJobsAlone(t *testing.T) {
	u := pgtest.SchemaURL(t)
	gate, entered := make(chan struct{}), make(chan struct{}, 1)
	slow := &fakeRunner{run: func(ctx context.Context, req contactsync.Request, n int) (contactsync.Result, error) {
		entered <- struct{}{}
		<-gate
		return contactsync.Result{Status: contactsync.StatusDone, Message: "ok"}, nil
	}}
	a := openEnv(t, u, slow, nil, fastOptions())
	a.start()
	o := a.submit(hook("pg-live", contactsync.ActionAdd))
	select {
	case <-entered:
	case <-time.After(20 * time.Second):
		close(gate)
		t.Fatal("runner never called")
	}
	b := openEnv(t, u, nil, nil, fastOptions()) // a second replica starting up
	b.start()
	if state, attempt := b.pgJobOf(o.WebhookID); state != "running" || attempt != 1 {
		t.Errorf("live job after another replica started: %s at attempt %d, want running at 1", state, attempt)
	}
	close(gate)
	if got := a.waitFinal(o.WebhookID)[0]; got.State != webhook.StateDone {
		t.Errorf("outcome = %+v", got)
	}
	if n := len(b.runner.CallsFor("pg-live")); n != 0 {
		t.Errorf("the second replica ran %d rounds of a live replica's job", n)
	}
	if n := len(slow.CallsFor("pg-live")); n != 1 {
		t.Errorf("rounds = %d, want 1", n)
	}
}

// When the database goes away the queue is not ready, and the process keeps
// going; when it comes back, readiness and work recover by themselves.
func TestPostgresReadyRecovers(t *testing.T) {
	proxy, u := pgtest.NewProxy(t, pgtest.SchemaURL(t))
	e := openEnv(t, u, nil, nil, fastOptions())
	e.start()
	ctx := context.Background()
	if err := e.q.Ready(ctx); err != nil {
		t.Fatalf("Ready = %v", err)
	}
	proxy.Cut()
	wait.For(t, 20*time.Second, "the expected state", func() (bool, string) {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		err := e.q.Ready(rctx)
		return err != nil, "Ready = nil with the database gone"
	})
	if _, err := e.q.Submit(ctx, hook("pg-gone", contactsync.ActionAdd)); err == nil {
		t.Error("Submit succeeded with the database gone")
	}
	proxy.Restore()
	wait.For(t, 30*time.Second, "the expected state", func() (bool, string) {
		err := e.q.Ready(ctx)
		return err == nil, fmt.Sprintf("Ready = %v", err)
	})
	o := e.submit(hook("pg-back", contactsync.ActionAdd))
	if got := e.waitFinal(o.WebhookID)[0]; got.State != webhook.StateDone {
		t.Errorf("webhook after the database came back = %+v", got)
	}
}

// Two replicas sharing one PostgreSQL database never run rounds for one
// contact at the same time, and every webhook ends up covered.
func TestPostgresReplicasOneContactAtATime(t *testing.T) {
	u := pgtest.SchemaURL(t)
	r := &fakeRunner{run: func(ctx context.Context, req contactsync.Request, n int) (contactsync.Result, error) {
		time.Sleep(20 * time.Millisecond) // a round takes a while: the other replica tries meanwhile
		return contactsync.Result{Status: contactsync.StatusDone, Message: "synced " + req.ContactID, UserID: 7}, nil
	}}
	replicas := []*env{openEnv(t, u, r, nil, fastOptions()), openEnv(t, u, r, nil, fastOptions())}
	for _, e := range replicas {
		e.start()
	}
	var ids []int64
	for i := range 40 {
		contact := fmt.Sprintf("pg-fleet-%d", i%3)
		ids = append(ids, replicas[i%2].submit(hook(contact, contactsync.ActionUpdate)).WebhookID)
	}
	for _, o := range replicas[0].waitFinal(ids...) {
		if o.State != webhook.StateDone && o.State != webhook.StateIgnored {
			t.Errorf("webhook %d = %+v", o.WebhookID, o)
		}
	}
	if n := r.overlaps.Load(); n != 0 {
		t.Errorf("%d rounds overlapped another round of their contact", n)
	}
}

// A pool too small for the workers is refused at start, saying what to set.
func TestPostgresPoolTooSmall(t *testing.T) {
	u := pgtest.SchemaURL(t) + "&pool_max_conns=6"
	st, err := store.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	opts := fastOptions() // 4 workers: 9 connections needed
	if _, err := New(context.Background(), st, &fakeRunner{}, nil, opts, logrus.New(), metrics.New()); err == nil ||
		!strings.Contains(err.Error(), "pool_max_conns=9") {
		t.Errorf("New with 6 connections for 4 workers = %v, want an error asking for pool_max_conns=9", err)
	}
	opts.Workers = 1
	if _, err := New(context.Background(), st, &fakeRunner{}, nil, opts, logrus.New(), metrics.New()); err != nil {
		t.Errorf("New with 6 connections for 1 worker: %v", err)
	}
}

// A webhook submitted to one replica and worked by another: Wait on the
// first returns the outcome as soon as it is recorded, not at its timeout.
func TestPostgresWaitAcrossReplicas(t *testing.T) {
	u := pgtest.SchemaURL(t)
	front := openEnv(t, u, nil, nil, fastOptions()) // not started: works nothing
	worker := openEnv(t, u, nil, nil, fastOptions())
	worker.start()
	o := front.submit(hook("pg-wait", contactsync.ActionAdd))
	start := time.Now()
	got, err := front.q.Wait(context.Background(), o.WebhookID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != webhook.StateDone {
		t.Errorf("Wait = %+v, want done", got)
	}
	if el := time.Since(start); el > 30*time.Second {
		t.Errorf("Wait returned after %s", el)
	}
	if n := len(worker.runner.CallsFor("pg-wait")); n != 1 {
		t.Errorf("rounds on the working replica = %d, want 1", n)
	}
}
