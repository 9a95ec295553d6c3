package queue

// Rounds started at arrival (Options.RunAtArrival). A webhook answered
// synchronously that arrives while this process has nothing else to do has
// its round started as soon as it is committed, in a goroutine of its own,
// instead of when River hands its job to a worker (River's wake-up and
// fetch: about 2 ms of a lone webhook's answer, BENCHMARKS.md). The round
// is the worker's, step for step: the same locks (this process's and, on
// PostgreSQL, the fleet's contact lock), the AC slot waited for before the
// claim (so webhooks arriving meanwhile are covered), the same outcome and
// failure bookkeeping. The webhook's job, committed with it as always,
// stays the guarantee: a round that cannot start (a lock held) or that
// failed leaves the work to the job (after the backoff the failure set); a
// round that finished leaves it nothing to do; a crash leaves the job, as
// for any webhook.

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/wpbridge/wpbridge/internal/webhook"
)

// Arriving notes a webhook request being received (the server calls it
// before reading the body) until done is called.
func (q *Queue) Arriving() (done func()) {
	q.arriving.Add(1)
	return func() { q.arriving.Add(-1) }
}

// inlineAllowed reports whether the round of a lone submission of w may
// start at arrival: RunAtArrival, a webhook answered synchronously that is
// not an add, no other webhook being received, the queue started and idle
// (nothing pending or running in this process), work not paused and the
// contact not backing off after a failure.
//
// An add waits for a worker, as before: duplicates of an add sent together
// (AC's retries, two automations) reach wpbridge a millisecond or two
// apart, within River's pickup, and one round then covers them all; a
// second round of an add costs two more AC requests (measured: dup10 made
// 5 instead of 3 with adds started at arrival), and an add's round is long
// enough that River's 2 ms are a small part of it.
func (q *Queue) inlineAllowed(w webhook.Webhook) bool {
	if !q.opts.RunAtArrival || w.Request.Action == webhook.ActionAdd || q.arriving.Load() > 1 {
		return false
	}
	q.mu.Lock()
	started := q.started && q.inlineCtx != nil
	q.mu.Unlock()
	return started && !w.Async && w.Request.Action != webhook.ActionWordPressSync && q.admit.Idle() &&
		q.pausedFor() <= 0 && q.contactBackoff(w.Request.ContactID) <= 0
}

// runNow runs the round of webhook id (w) in a goroutine; once the queue is
// stopping, it leaves the webhook to its job.
func (q *Queue) runNow(w webhook.Webhook, id int64) {
	q.mu.Lock()
	ctx := q.inlineCtx
	if ctx == nil { // Stop began since inlineAllowed
		q.mu.Unlock()
		q.db.JobsInserted()
		return
	}
	q.inline.Add(1) // under q.mu: before stopInline's Wait
	q.mu.Unlock()
	go func() {
		defer q.inline.Done()
		ctx, cancel := context.WithTimeout(ctx, q.opts.JobTimeout)
		defer cancel()
		if err := q.runAtArrival(ctx, w, id); err != nil {
			q.handToJob(w.Request.ContactID, err)
		}
	}()
}

// gatherWait bounds how long a round started at arrival waits for the group
// commit gathering behind its webhook's.
const gatherWait = 20 * time.Millisecond

// errNotStarted: the round could not start now; the job will run it.
var errNotStarted = errors.New("round not started")

// runAtArrival runs the round of webhook id as a worker would for its job.
// An error says the job has work left: River's instruction for the job
// (a snooze, a retry), or errNotStarted.
func (q *Queue) runAtArrival(ctx context.Context, w webhook.Webhook, id int64) error {
	contact := w.Request.ContactID
	if !q.locks.tryLock(contact) {
		return errNotStarted
	}
	defer q.locks.unlock(contact)
	ctx, release, err := q.reserveAC(ctx)
	if err != nil {
		return errNotStarted
	}
	defer release()
	unlock, ok, err := q.fleet.LockContact(ctx, contact)
	if err != nil || !ok {
		return errNotStarted
	}
	defer unlock()
	// Webhooks sent with this one (AC's duplicates come together) are
	// committed by the next group commit, if one is gathering: claim after
	// it, so that this round covers them, as a worker's would.
	q.commits.waitIdle(ctx, gatherWait)
	c, err := q.db.Webhooks.Claim(ctx, contact, 0)
	if err != nil {
		return err
	}
	switch {
	case len(c.IDs) == 0:
		return nil // finished meanwhile
	case !slices.Contains(c.IDs, id):
		// Another kind's round comes first: give its webhooks back to their jobs.
		if err := q.db.Webhooks.Release(context.WithoutCancel(ctx), c.IDs); err != nil {
			return err
		}
		return errNotStarted
	}
	err = q.round(ctx, attempt{own: id, n: 1, max: jobMaxAttempts}, c)
	var cancelled *rivertype.JobCancelError
	if errors.As(err, &cancelled) {
		return nil // the webhook failed for good: its job finds it finished
	}
	return err
}

// handToJob leaves the webhook's work to its River job: a snooze asked for
// becomes the contact's backoff (the job waits it out), and the workers are
// woken rather than left to their next poll.
func (q *Queue) handToJob(contact string, err error) {
	var snooze *rivertype.JobSnoozeError
	if errors.As(err, &snooze) && snooze.Duration > 0 && q.contactBackoff(contact) < snooze.Duration {
		q.setBackoff(contact, snooze.Duration)
	}
	q.db.JobsInserted()
}

// stopInline waits for the rounds started at arrival until ctx ends, then
// cancels them (each hands its webhook back, as a worker's round does on
// shutdown) and waits up to grace more.
func (q *Queue) stopInline(ctx context.Context, grace time.Duration) {
	q.mu.Lock()
	cancel := q.cancelInline
	q.inlineCtx, q.cancelInline = nil, nil
	q.mu.Unlock()
	if cancel == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		q.inline.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		cancel()
		select {
		case <-done:
		case <-time.After(grace):
		}
	}
	cancel()
}
