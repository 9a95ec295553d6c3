package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

var (
	errFlaky    = errors.New("connection reset")
	errBad      = errors.New("contact has an invalid email")
	errThrottle = errors.New("429 too many requests")
	errAuth     = errors.New("401 unauthorized")
)

// classify is the classifier the tests use.
func classify(err error) webhook.Verdict {
	switch {
	case errors.Is(err, contactsync.ErrPermanent), errors.Is(err, errBad):
		return webhook.Verdict{Class: webhook.Permanent}
	case errors.Is(err, errThrottle):
		return webhook.Verdict{Class: webhook.Throttled, Wait: 20 * time.Millisecond}
	case errors.Is(err, errAuth):
		return webhook.Verdict{Class: webhook.AuthFailed, Reason: "ActiveCampaign"}
	}
	return webhook.Verdict{Class: webhook.Temporary}
}

// failFirst fails the first n rounds of each contact with err, then succeeds.
func failFirst(n int, err error) *fakeRunner {
	return &fakeRunner{run: func(ctx context.Context, req contactsync.Request, call int) (contactsync.Result, error) {
		if call <= n {
			return contactsync.Result{}, err
		}
		return contactsync.Result{Status: contactsync.StatusDone, Message: "ok", UserID: 3}, nil
	}}
}

func TestPermanentFailure(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"wrapped ErrPermanent", contactsync.Permanent(errors.New("contact deleted in ActiveCampaign"))},
		{"classifier says permanent", errBad},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gate := make(chan struct{})
			entered := make(chan struct{}, 10)
			r := &fakeRunner{run: func(ctx context.Context, req contactsync.Request, n int) (contactsync.Result, error) {
				entered <- struct{}{}
				if n == 1 {
					<-gate
					return contactsync.Result{Status: contactsync.StatusDone, Message: "ok"}, nil
				}
				return contactsync.Result{}, tc.err
			}}
			e := startEnv(t, r, classify, fastOptions())
			first := e.submit(hook("42", contactsync.ActionAdd))
			<-entered
			// Two webhooks wait for the running round; the next round covers
			// both and fails for good.
			a := e.submit(hook("42", contactsync.ActionUpdate))
			b := e.submit(hook("42", contactsync.ActionUpdateTags))
			close(gate)
			outs := e.waitFinal(a.WebhookID, b.WebhookID)
			for _, o := range outs {
				if o.State != webhook.StateFailed || o.Message != tc.err.Error() {
					t.Errorf("webhook %+v, want failed with %q", o, tc.err)
				}
			}
			if o := e.outcome(first.WebhookID); o.State != webhook.StateDone {
				t.Errorf("first webhook %+v", o)
			}
			e.waitJobsFinalized()
			if n := len(r.Calls()); n != 2 {
				t.Errorf("runner called %d times, want 2", n)
			}
			states := map[string]int{}
			for _, id := range []int64{a.WebhookID, b.WebhookID} {
				s, _ := e.jobOf(id)
				states[s]++
			}
			// The job that ran is cancelled; the other found its webhook finished.
			if states["cancelled"] != 1 || states["completed"] != 1 {
				t.Errorf("job states %v, want one cancelled and one completed", states)
			}
		})
	}
}

func TestTemporaryFailureIsRetried(t *testing.T) {
	r := failFirst(2, errFlaky)
	e := startEnv(t, r, classify, fastOptions())
	o := e.submit(hook("42", contactsync.ActionAdd))
	if got := e.waitFinal(o.WebhookID)[0]; got.State != webhook.StateDone || got.UserID != 3 {
		t.Fatalf("outcome %+v, want done after retries", got)
	}
	if n := len(r.Calls()); n != 3 {
		t.Errorf("runner called %d times, want 3", n)
	}
	retries := 0
	for _, en := range e.logs.AllEntries() {
		if en.Message == "round failed, will retry" {
			retries++
			if en.Data["contact_id"] != "42" || en.Data["action"] != "add" || en.Level != logrus.WarnLevel {
				t.Errorf("retry log entry %v %v", en.Level, en.Data)
			}
		}
	}
	if retries != 2 {
		t.Errorf("%d retry warnings logged, want 2", retries)
	}
	if m := e.scrape(); !strings.Contains(m, `wpbridge_jobs_total{action="add",outcome="retry"} 2`) ||
		!strings.Contains(m, `wpbridge_jobs_total{action="add",outcome="done"} 1`) {
		t.Errorf("metrics lack the retries and the success:\n%s", grepLines(m, "wpbridge_jobs_total"))
	}
	e.waitJobsFinalized()
	if state, attempt := e.jobOf(o.WebhookID); state != "completed" || attempt != 3 {
		t.Errorf("job %s at attempt %d, want completed at attempt 3", state, attempt)
	}
}

func TestWithoutClassifierEveryFailureIsTemporary(t *testing.T) {
	r := failFirst(1, contactsync.Permanent(errBad))
	e := startEnv(t, r, nil, fastOptions())
	o := e.submit(hook("42", contactsync.ActionAdd))
	if got := e.waitFinal(o.WebhookID)[0]; got.State != webhook.StateDone {
		t.Fatalf("outcome %+v, want done after a retry", got)
	}
}

func TestTemporaryFailurePastHorizonFails(t *testing.T) {
	clk := newClock()
	opts := fastOptions()
	opts.RetryHorizon, opts.Now = time.Hour, clk.Now
	r := &fakeRunner{run: func(ctx context.Context, req contactsync.Request, n int) (contactsync.Result, error) {
		clk.Advance(20 * time.Minute) // each try takes 20 minutes of the clock
		return contactsync.Result{}, errFlaky
	}}
	e := startEnv(t, r, classify, opts)
	o := e.submit(hook("42", contactsync.ActionAdd))
	got := e.waitFinal(o.WebhookID)[0]
	if got.State != webhook.StateFailed || !strings.Contains(got.Message, errFlaky.Error()) ||
		!strings.Contains(got.Message, "retry horizon (1h0m0s)") {
		t.Errorf("outcome %+v, want failed with %q and the horizon", got, errFlaky)
	}
	e.waitJobsFinalized()
	// Tries end at +20m, +40m, +60m (not yet past the horizon), +80m.
	if n := len(r.Calls()); n != 4 {
		t.Errorf("runner called %d times, want 4", n)
	}
	if rec, err := e.st.Webhooks.Get(context.Background(), o.WebhookID); err != nil || rec.Attempts != 4 ||
		rec.Error != errFlaky.Error() {
		t.Errorf("history %+v, %v; want 4 attempts and the last error", rec, err)
	}
	if state, _ := e.jobOf(o.WebhookID); state != "cancelled" {
		t.Errorf("job %s, want cancelled", state)
	}
	failed := e.logged("round failed for good")
	if len(failed) != 1 || failed[0].Data["hint"] != fmt.Sprintf("replay with: wpbridge webhooks retry %d", o.WebhookID) ||
		failed[0].Data["reason"] != "retry horizon passed" {
		t.Errorf("round failed for good logged %d times, first %v", len(failed), failed)
	}
}

func TestThrottledUsesNoAttempt(t *testing.T) {
	opts := fastOptions()
	opts.RetryHorizon = time.Nanosecond // any temporary failure would be final
	r := failFirst(3, errThrottle)
	e := startEnv(t, r, classify, opts)
	o := e.submit(hook("42", contactsync.ActionAdd))
	if got := e.waitFinal(o.WebhookID)[0]; got.State != webhook.StateDone {
		t.Fatalf("outcome %+v, want done after throttling", got)
	}
	if n := len(r.Calls()); n != 4 {
		t.Errorf("runner called %d times, want 4", n)
	}
	e.waitJobsFinalized()
	if state, attempt := e.jobOf(o.WebhookID); state != "completed" || attempt != 1 {
		t.Errorf("job %s at attempt %d, want completed at attempt 1", state, attempt)
	}
	if rec, err := e.st.Webhooks.Get(context.Background(), o.WebhookID); err != nil || rec.Attempts != 1 {
		t.Errorf("history %+v, %v; want 1 attempt (throttling counts none)", rec, err)
	}
}

func TestAuthFailurePausesWork(t *testing.T) {
	opts := fastOptions()
	opts.RetryHorizon = time.Nanosecond // any temporary failure would be final
	var q atomic.Pointer[Queue]
	var ranWhilePaused atomic.Int32
	r := &fakeRunner{}
	r.run = func(ctx context.Context, req contactsync.Request, n int) (contactsync.Result, error) {
		if q.Load().pausedFor() > 0 {
			ranWhilePaused.Add(1)
		}
		if req.ContactID == "42" && n == 1 {
			return contactsync.Result{}, errAuth
		}
		return contactsync.Result{Status: contactsync.StatusDone, Message: "ok"}, nil
	}
	e := startEnv(t, r, classify, opts)
	q.Store(e.q)
	ctx := context.Background()
	if err := e.q.Ready(ctx); err != nil {
		t.Fatalf("Ready before any work: %v", err)
	}
	o := e.submit(hook("42", contactsync.ActionAdd))
	wait.For(t, 10*time.Second, "the expected state", func() (bool, string) { return len(r.Calls()) > 0, "runner not called" })
	// The pause starts when the failed round returns.
	var err error
	wait.For(t, 10*time.Second, "the expected state", func() (bool, string) {
		err = e.q.Ready(ctx)
		return err != nil, "Ready is nil"
	})
	if err == nil || !strings.Contains(err.Error(), "ActiveCampaign rejected the credentials") {
		t.Fatalf("Ready while paused = %v, want the reason", err)
	}
	// Other contacts wait out the pause too.
	other := e.submit(hook("43", contactsync.ActionAdd))
	outs := e.waitFinal(o.WebhookID, other.WebhookID)
	for _, o := range outs {
		if o.State != webhook.StateDone {
			t.Errorf("webhook %+v, want done after the pause", o)
		}
	}
	if n := ranWhilePaused.Load(); n != 0 {
		t.Errorf("%d rounds ran while paused", n)
	}
	paused := e.logged("work paused")
	if len(paused) != 1 || paused[0].Level != logrus.ErrorLevel ||
		paused[0].Data["reason"] != "ActiveCampaign rejected the credentials" || paused[0].Data["contact_id"] != "42" {
		t.Errorf("work paused logged %d times, first %v", len(paused), paused)
	}
	if err := e.q.Ready(ctx); err != nil {
		t.Errorf("Ready after a success = %v", err)
	}
	e.waitJobsFinalized()
	if state, attempt := e.jobOf(o.WebhookID); state != "completed" || attempt != 1 {
		t.Errorf("job %s at attempt %d, want completed at attempt 1", state, attempt)
	}
}

func TestReadyBeforeStart(t *testing.T) {
	e := openEnv(t, "", nil, nil, fastOptions())
	if err := e.q.Ready(context.Background()); err == nil {
		t.Error("Ready before Start: no error")
	}
	e.start()
	if err := e.q.Ready(context.Background()); err != nil {
		t.Errorf("Ready after Start: %v", err)
	}
}

func TestJobTimeoutIsATemporaryFailure(t *testing.T) {
	opts := fastOptions()
	opts.RetryHorizon = time.Nanosecond // the first temporary failure is final
	opts.JobTimeout = 500 * time.Millisecond
	r := &fakeRunner{run: func(ctx context.Context, req contactsync.Request, n int) (contactsync.Result, error) {
		<-ctx.Done()
		return contactsync.Result{}, ctx.Err()
	}}
	e := startEnv(t, r, classify, opts)
	o := e.submit(hook("42", contactsync.ActionAdd))
	defer func() {
		if t.Failed() {
			var st, errs string
			var att, max int
			e.db.QueryRow(`SELECT state, attempt, max_attempts, errors FROM river_job`).Scan(&st, &att, &max, &errs)
			t.Logf("job %s %d/%d %s; calls %d", st, att, max, errs, len(r.Calls()))
			for _, en := range e.logs.AllEntries() {
				t.Logf("log %s %s %v", en.Level, en.Message, en.Data)
			}
		}
	}()
	got := e.waitFinal(o.WebhookID)[0]
	if got.State != webhook.StateFailed || !strings.Contains(got.Message, "deadline exceeded") {
		t.Errorf("outcome %+v, want failed after timing out", got)
	}
	if n := len(r.Calls()); n != 1 {
		t.Errorf("runner called %d times, want 1", n)
	}
	e.waitJobsFinalized()
	if state, _ := e.jobOf(o.WebhookID); state != "cancelled" {
		t.Errorf("job %s, want cancelled", state)
	}
}

func TestBookkeepingErrorPastHorizonFailsTheWebhook(t *testing.T) {
	clk := newClock()
	opts := fastOptions()
	opts.RetryHorizon, opts.Now = time.Hour, clk.Now
	e := openEnv(t, "", nil, classify, opts)
	o := e.submit(webhook.Webhook{Request: contactsync.Request{ContactID: "42", Action: contactsync.ActionAdd, HasTags: true}})
	if _, err := e.db.Exec(`UPDATE wpbridge_webhook SET tags = 'not json' WHERE id = ?`, o.WebhookID); err != nil {
		t.Fatal(err)
	}
	e.start()
	// Within the horizon the job is retried, and the webhook stays pending.
	wait.For(t, 10*time.Second, "the expected state", func() (bool, string) {
		state, attempt := e.jobOf(o.WebhookID)
		return attempt >= 2, fmt.Sprintf("job %s at attempt %d", state, attempt)
	})
	if got := e.outcome(o.WebhookID); got.State != webhook.StatePending {
		t.Fatalf("webhook %+v within its horizon, want pending", got)
	}
	clk.Advance(2 * time.Hour)
	got := e.waitFinal(o.WebhookID)[0]
	if got.State != webhook.StateFailed || !strings.Contains(got.Message, "decode tags") {
		t.Errorf("outcome %+v, want failed with the reason", got)
	}
	if n := len(e.runner.Calls()); n != 0 {
		t.Errorf("runner called %d times", n)
	}
	e.waitJobsFinalized()
	if state, _ := e.jobOf(o.WebhookID); state != "cancelled" {
		t.Errorf("job %s, want cancelled", state)
	}
	if n := len(e.logged("webhook failed for good")); n != 1 {
		t.Errorf("webhook failed for good logged %d times, want 1", n)
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
