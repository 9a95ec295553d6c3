package queue

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

// arrivalOptions are fastOptions with rounds started at arrival, as the
// server runs.
func arrivalOptions() Options {
	o := fastOptions()
	o.RunAtArrival = true
	return o
}

// roundJobIDs lists the job_id of each "round done" or "round failed, will
// retry" log entry for contact, in order: 0 for a round started at arrival.
func (e *env) roundJobIDs(contact string) []int64 {
	var ids []int64
	for _, en := range e.logs.AllEntries() {
		if (en.Message == "round done" || en.Message == "round failed, will retry") && en.Data["contact_id"] == contact {
			id, _ := en.Data["job_id"].(int64)
			ids = append(ids, id)
		}
	}
	return ids
}

// TestRunAtArrival_LoneWebhook: a lone synchronous webhook's round starts
// at arrival, not through River; its job, committed with it, then finds
// nothing left to do (the round is not run twice) and completes.
func TestRunAtArrival_LoneWebhook(t *testing.T) {
	e := startEnv(t, nil, nil, arrivalOptions())
	o := e.submit(hook("42", contactsync.ActionUpdate))
	if got := e.waitFinal(o.WebhookID)[0]; got.State != webhook.StateDone {
		t.Fatalf("outcome %+v, want done", got)
	}
	e.waitJobsFinalized()
	if ids := e.roundJobIDs("42"); len(ids) != 1 || ids[0] != 0 {
		t.Errorf("rounds by job id %v, want one started at arrival (job id 0)", ids)
	}
	if n := len(e.runner.Calls()); n != 1 {
		t.Errorf("runner called %d times, want 1", n)
	}
	if state, _ := e.jobOf(o.WebhookID); state != "completed" {
		t.Errorf("job %s, want completed", state)
	}
}

// TestRunAtArrival_OnlyWhenIdle: while a round runs or another webhook is
// being received, webhooks wait for River's workers as before; an async
// webhook and an add always do.
func TestRunAtArrival_OnlyWhenIdle(t *testing.T) {
	release := make(chan struct{})
	r := &fakeRunner{run: func(ctx context.Context, req contactsync.Request, n int) (contactsync.Result, error) {
		if req.ContactID == "1" {
			<-release
		}
		return contactsync.Result{Status: contactsync.StatusDone, UserID: 5}, nil
	}}
	e := startEnv(t, r, nil, arrivalOptions())
	first := e.submit(hook("1", contactsync.ActionUpdate))
	wait.For(t, 10*time.Second, "the first round to start", func() (bool, string) {
		return len(r.CallsFor("1")) > 0, "not started"
	})
	busy := e.submit(hook("2", contactsync.ActionUpdate))
	e.waitFinal(busy.WebhookID)
	close(release)
	e.waitFinal(first.WebhookID)
	async := hook("3", contactsync.ActionAdd)
	async.Async = true
	e.waitFinal(e.submit(async).WebhookID)
	// Another webhook still being received (duplicates come together).
	other := e.q.Arriving()
	mine := e.q.Arriving()
	e.waitFinal(e.submit(hook("4", contactsync.ActionUpdate)).WebhookID)
	mine()
	other()
	e.waitFinal(e.submit(hook("5", contactsync.ActionUpdate)).WebhookID)
	e.waitFinal(e.submit(hook("6", contactsync.ActionAdd)).WebhookID) // an add waits for a worker
	for contact, atArrival := range map[string]bool{"1": true, "2": false, "3": false, "4": false, "5": true, "6": false} {
		ids := e.roundJobIDs(contact)
		if len(ids) != 1 || (ids[0] == 0) != atArrival {
			t.Errorf("contact %s: rounds by job id %v, want one, at arrival %v", contact, ids, atArrival)
		}
	}
}

// TestRunAtArrival_TemporaryFailureIsRetried: a round started at arrival
// that fails counts its attempt and leaves the webhook to its job, which
// retries it after the backoff, as River's own rounds are retried.
func TestRunAtArrival_TemporaryFailureIsRetried(t *testing.T) {
	r := failFirst(2, errFlaky)
	e := startEnv(t, r, classify, arrivalOptions())
	o := e.submit(hook("42", contactsync.ActionUpdate))
	if got := e.waitFinal(o.WebhookID)[0]; got.State != webhook.StateDone || got.UserID != 3 {
		t.Fatalf("outcome %+v, want done after retries", got)
	}
	if n := len(r.Calls()); n != 3 {
		t.Errorf("runner called %d times, want 3", n)
	}
	if ids := e.roundJobIDs("42"); len(ids) != 3 || ids[0] != 0 || ids[1] == 0 || ids[2] == 0 {
		t.Errorf("rounds by job id %v, want the first at arrival, the retries by the job", ids)
	}
	if m := e.scrape(); !strings.Contains(m, `wpbridge_jobs_total{action="update",outcome="retry"} 2`) ||
		!strings.Contains(m, `wpbridge_jobs_total{action="update",outcome="done"} 1`) {
		t.Errorf("metrics lack the retries and the success:\n%s", grepLines(m, "wpbridge_jobs_total"))
	}
	e.waitJobsFinalized()
	if state, _ := e.jobOf(o.WebhookID); state != "completed" {
		t.Errorf("job %s, want completed", state)
	}
}

// The queue's guarantees with rounds started at arrival.
func TestRunAtArrival_RoundClaimsAfterBudget(t *testing.T) {
	roundClaimsAfterBudget(t, arrivalOptions())
}

func TestRunAtArrival_StopMidRoundHandsWorkBack(t *testing.T) {
	stopMidRoundHandsWorkBack(t, arrivalOptions())
}
