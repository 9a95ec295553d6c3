package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

var errWPDown = errors.New("wordpress: 503 Service Unavailable")

func (e *env) record(id int64) webhook.Record {
	e.t.Helper()
	r, err := e.st.Webhooks.Get(context.Background(), id)
	if err != nil {
		e.t.Fatalf("Get(%d): %v", id, err)
	}
	return r
}

// TestOutageOfThreeHours: WordPress is down for three hours of the clock,
// longer than the 25 attempts River allowed before would last; with the
// default 72h horizon every webhook is done once it is back.
func TestOutageOfThreeHours(t *testing.T) {
	clk := newClock()
	opts := fastOptions()
	opts.Now = clk.Now // RetryHorizon: the default 72h
	back := clk.Now().Add(3 * time.Hour)
	r := &fakeRunner{run: func(ctx context.Context, req contactsync.Request, n int) (contactsync.Result, error) {
		if clk.Now().Before(back) {
			if req.ContactID == "1" {
				clk.Advance(6 * time.Minute) // contact 1's tries, with their backoff, set the clock
			}
			return contactsync.Result{}, errWPDown
		}
		return contactsync.Result{Status: contactsync.StatusDone, Message: "synced", UserID: 9}, nil
	}}
	e := startEnv(t, r, classify, opts)
	ids := []int64{e.submit(hook("1", contactsync.ActionAdd)).WebhookID, e.submit(hook("1", contactsync.ActionUpdateTags)).WebhookID}
	// Another arrives in the middle of the outage.
	wait.For(t, time.Minute, "the expected state", func() (bool, string) {
		return clk.Now().After(back.Add(-90 * time.Minute)), "the outage is not half over"
	})
	ids = append(ids, e.submit(hook("3", contactsync.ActionUpdate)).WebhookID)

	wait.For(t, 2*time.Minute, "the expected state", func() (bool, string) {
		for _, id := range ids {
			if o := e.outcome(id); !o.Final() {
				return false, fmt.Sprintf("webhook %d is %s at %s of the outage", id, o.State, clk.Now().Sub(back))
			}
		}
		return true, ""
	})
	for _, id := range ids {
		if o := e.outcome(id); o.State != webhook.StateDone && o.State != webhook.StateIgnored {
			t.Errorf("webhook %+v after the outage, want done (or covered)", o)
		}
	}
	if n := len(r.CallsFor("1")); n <= 25 {
		t.Errorf("contact 1: %d tries, want more than the 25 attempts River allowed", n)
	}
	most := 0
	for _, id := range ids {
		rec := e.record(id)
		most = max(most, rec.Attempts)
		if rec.Error != "" {
			t.Errorf("webhook %d done with a last error %q", id, rec.Error)
		}
	}
	if most <= 25 {
		t.Errorf("at most %d attempts recorded, want more than 25", most)
	}
	if n := len(e.logged("round failed for good")); n != 0 {
		t.Errorf("round failed for good logged %d times during a 3-hour outage", n)
	}
}

// TestCoalescedRoundFailsOnlyWebhooksPastTheirHorizon: a round covering a
// webhook past its horizon and a fresh one fails temporarily: the old one
// fails, the fresh one is retried and ends done.
func TestCoalescedRoundFailsOnlyWebhooksPastTheirHorizon(t *testing.T) {
	clk := newClock()
	opts := fastOptions()
	opts.RetryHorizon, opts.Now = time.Hour, clk.Now
	r := failFirst(1, errWPDown)
	e := openEnv(t, "", r, classify, opts) // not started: both wait for one round
	old := e.submit(hook("42", contactsync.ActionUpdate)).WebhookID
	clk.Advance(2 * time.Hour)
	fresh := e.submit(hook("42", contactsync.ActionUpdateTags)).WebhookID
	e.start()
	outs := e.waitFinal(old, fresh)
	if o := outs[0]; o.State != webhook.StateFailed || !strings.Contains(o.Message, errWPDown.Error()) {
		t.Errorf("old webhook %+v, want failed with the error", o)
	}
	if o := outs[1]; o.State != webhook.StateDone || o.UserID != 3 {
		t.Errorf("fresh webhook %+v, want done", o)
	}
	calls := r.CallsFor("42")
	if len(calls) != 2 || calls[0].Action != contactsync.ActionUpdate || calls[1].Action != contactsync.ActionUpdateTags {
		t.Errorf("rounds %+v, want the coalesced update, then the fresh update_tags alone", calls)
	}
	if a, b := e.record(old).Attempts, e.record(fresh).Attempts; a != 1 || b != 2 {
		t.Errorf("attempts old %d, fresh %d; want 1 and 2", a, b)
	}
	failed := e.logged("round failed for good")
	if len(failed) != 1 || failed[0].Data["hint"] != fmt.Sprintf("replay with: wpbridge webhooks retry %d", old) {
		t.Errorf("round failed for good logged %d times, first %v", len(failed), failed)
	}
	e.waitJobsFinalized()
}

// TestRequeue: a failed webhook is put back by another process (a history
// command on a shared handle of the same file), and the running queue does
// it.
func TestRequeue(t *testing.T) {
	ctx := context.Background()
	r := &fakeRunner{run: func(ctx context.Context, req contactsync.Request, n int) (contactsync.Result, error) {
		if req.ContactID == "42" && n == 1 {
			return contactsync.Result{}, errBad
		}
		return contactsync.Result{Status: contactsync.StatusDone, Message: "ok"}, nil
	}}
	e := startEnv(t, r, classify, fastOptions())
	failed := e.submit(hook("42", contactsync.ActionAdd)).WebhookID
	done := e.submit(hook("43", contactsync.ActionAdd)).WebhookID
	outs := e.waitFinal(failed, done)
	if outs[0].State != webhook.StateFailed {
		t.Fatalf("webhook %+v, want failed", outs[0])
	}
	sh, err := store.OpenSQLiteShared(ctx, e.path)
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	// A shared handle never works jobs.
	q2, err := New(ctx, sh, &fakeRunner{}, classify, fastOptions(), e.q.log, e.m)
	if err != nil {
		t.Fatal(err)
	}
	if err := q2.Start(ctx); err == nil {
		q2.Stop(ctx)
		t.Fatal("Start on a database opened without the work lock succeeded")
	}

	now := time.Now()
	got, err := Requeue(ctx, sh, []int64{failed, done, 99999}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []int64{failed}) {
		t.Errorf("Requeue = %v, want only the failed webhook %d", got, failed)
	}
	wait.For(t, 20*time.Second, "the expected state", func() (bool, string) {
		o := e.outcome(failed)
		return o.State == webhook.StateDone, fmt.Sprintf("webhook is %s", o.State)
	})
	rec := e.record(failed)
	if rec.Attempts != 2 || !rec.RetryFrom.Equal(now) || rec.Error != "" {
		t.Errorf("history after the replay %+v", rec)
	}
	if n := len(r.CallsFor("42")); n != 2 {
		t.Errorf("contact 42: %d rounds, want 2", n)
	}
	if o := e.outcome(done); o.State != webhook.StateDone {
		t.Errorf("done webhook %+v after Requeue", o)
	}
}

// TestJobFromBeforeTheHorizonKeepsRetrying: a job inserted with River's old
// limit of attempts is not discarded at it while its webhook's horizon lasts.
func TestJobFromBeforeTheHorizonKeepsRetrying(t *testing.T) {
	r := failFirst(3, errWPDown)
	e := openEnv(t, "", r, classify, fastOptions())
	o := e.submit(hook("42", contactsync.ActionAdd))
	if _, err := e.db.Exec(`UPDATE river_job SET max_attempts = 2`); err != nil {
		t.Fatal(err)
	}
	e.start()
	if got := e.waitFinal(o.WebhookID)[0]; got.State != webhook.StateDone {
		t.Fatalf("webhook %+v, want done", got)
	}
	if n := len(r.Calls()); n != 4 {
		t.Errorf("runner called %d times, want 4", n)
	}
}

// TestHistoryRetention: finished webhooks are kept HistoryRetention, then
// the cleaner deletes them; pending ones are never deleted.
func TestHistoryRetention(t *testing.T) {
	clk := newClock()
	opts := fastOptions()
	opts.Now = clk.Now // HistoryRetention: the default 720h
	opts.RetryHorizon = 100 * 24 * time.Hour
	e := startEnv(t, nil, classify, opts)
	done := e.submit(hook("42", contactsync.ActionAdd)).WebhookID
	e.waitFinal(done)
	e.close()
	e2 := openEnv(t, e.path, nil, classify, opts)
	pending := e2.submit(hook("43", contactsync.ActionAdd)).WebhookID // not worked: the queue is not started
	e2.close()

	// 29 days later the finished webhook is still there.
	clk.Advance(29 * 24 * time.Hour)
	e3 := openEnv(t, e.path, &fakeRunner{run: func(ctx context.Context, req contactsync.Request, n int) (contactsync.Result, error) {
		return contactsync.Result{}, errWPDown // keeps 43 pending
	}}, classify, opts)
	e3.start()
	wait.For(t, 10*time.Second, "the expected state", func() (bool, string) { return len(e3.runner.Calls()) > 0, "no round ran" })
	if _, err := e3.st.Webhooks.Get(context.Background(), done); err != nil {
		t.Errorf("finished webhook after 29 days: %v", err)
	}
	e3.close()

	// After 31 days it is deleted; the pending one stays.
	clk.Advance(2 * 24 * time.Hour)
	e4 := openEnv(t, e.path, &fakeRunner{run: func(ctx context.Context, req contactsync.Request, n int) (contactsync.Result, error) {
		return contactsync.Result{}, errWPDown
	}}, classify, opts)
	e4.start()
	wait.For(t, 10*time.Second, "the expected state", func() (bool, string) {
		_, err := e4.st.Webhooks.Get(context.Background(), done)
		return errors.Is(err, webhook.ErrNotFound), fmt.Sprintf("finished webhook after 31 days: %v", err)
	})
	if r := e4.record(pending); r.State != webhook.StatePending {
		t.Errorf("pending webhook %+v after 31 days", r)
	}
}
