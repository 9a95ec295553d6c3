package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"
	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/internal/webhook"
)

// settle announces webhooks of contact whose outcomes are stored: to the
// load estimate and their waiters (before the answer: its client may send
// the next at once), to the metrics (rounds by action and how they ended)
// and to the log as msg; a failure is logged as an error, with how to
// replay it.
func (q *Queue) settle(contact, action, how string, outs []webhook.Outcome, log *logrus.Entry, msg string) {
	q.admit.Finished(contact, len(outs))
	q.waiters.notify(outs)
	q.countJob(action, how)
	if how != webhook.StateFailed {
		log.Info(msg)
		return
	}
	ids := make([]int64, len(outs))
	for i, o := range outs {
		ids[i] = o.WebhookID
	}
	log.WithField("hint", webhook.ReplayHint(ids...)).Error(msg)
}

// storeFailed handles an error of the queue's own bookkeeping before a round
// ran. On shutdown the job waits for the next start; once the webhook's
// retry horizon has passed, it is failed, so that it is not left pending
// with no job.
func (q *Queue) storeFailed(ctx context.Context, job *river.Job[SyncArgs], err error) error {
	if shuttingDown(ctx) {
		return river.JobSnooze(time.Second)
	}
	id := job.Args.WebhookID
	from, ferr := q.db.Webhooks.RetryFrom(ctx, id)
	if errors.Is(ferr, sql.ErrNoRows) {
		return river.JobCancel(err) // the webhook is gone: nothing left to do
	}
	if ferr != nil || !q.pastHorizon(from) {
		if job.Attempt >= job.MaxAttempts {
			return river.JobSnooze(q.retryDelay(job.Attempt)) // a job from before jobMaxAttempts
		}
		return err
	}
	o := webhook.Outcome{WebhookID: id, State: webhook.StateFailed, Message: err.Error()}
	if ferr := q.db.Webhooks.Fail(context.WithoutCancel(ctx), id, o.Message); ferr != nil {
		return errors.Join(err, ferr)
	}
	q.settle(job.Args.ContactID, "unknown", webhook.StateFailed, []webhook.Outcome{o},
		q.log.WithError(err).WithField("webhook_id", id), "webhook failed for good")
	return river.JobCancel(err)
}

// pastHorizon reports whether a retry horizon that started at from is over.
func (q *Queue) pastHorizon(from time.Time) bool {
	return from.Before(q.opts.Now().Add(-q.opts.RetryHorizon))
}

// retryDelay is the backoff before the next try after attempt n.
func (q *Queue) retryDelay(n int) time.Duration {
	return (&backoffPolicy{base: q.opts.RetryBase, cap: q.opts.RetryCap}).delay(n)
}

// fail handles a failed round by its verdict.
func (q *Queue) fail(ctx context.Context, c *webhook.Claimed, job attempt, runErr error, log *logrus.Entry) error {
	v := q.classify(runErr)
	if v.Class != webhook.Permanent && shuttingDown(ctx) {
		// Hand the work back untouched; it resumes on the next start.
		if err := q.db.Webhooks.Release(context.WithoutCancel(ctx), c.IDs); err != nil {
			return err
		}
		log.WithError(runErr).Info("round interrupted, will resume")
		return river.JobSnooze(time.Second)
	}
	switch v.Class {
	case webhook.Permanent:
		return q.failForGood(ctx, c, v, runErr, log)
	case webhook.Throttled, webhook.AuthFailed:
		return q.wait(ctx, c, v, runErr, log)
	}
	return q.retryLater(ctx, c, job, runErr, log)
}

// wait hands the round's webhooks back without using an attempt: AC asked
// to slow down, or credentials were rejected (then all work pauses).
func (q *Queue) wait(ctx context.Context, c *webhook.Claimed, v webhook.Verdict, runErr error, log *logrus.Entry) error {
	if err := q.db.Webhooks.Release(context.WithoutCancel(ctx), c.IDs); err != nil {
		return err
	}
	action := string(c.Request.Action)
	if v.Class == webhook.Throttled {
		wait := v.Wait
		if wait <= 0 {
			wait = time.Second
		}
		q.countJob(action, "throttled")
		log.WithError(runErr).WithField("wait_ms", wait.Milliseconds()).Warn("throttled, waiting")
		return river.JobSnooze(wait)
	}
	reason := v.Reason + " rejected the credentials"
	q.pause(q.opts.AuthPause, reason)
	q.countJob(action, "paused")
	log.WithError(runErr).WithFields(logrus.Fields{"reason": reason, "hint": "fix the configuration"}).Error("work paused")
	return river.JobSnooze(q.opts.AuthPause)
}

// retryLater handles a temporary failure: each webhook of the round counts
// an attempt; those past their own retry horizon fail, the others go back
// to pending and are retried with backoff. The job ends when its own
// webhook failed (the others have jobs of their own).
func (q *Queue) retryLater(ctx context.Context, c *webhook.Claimed, job attempt, runErr error, log *logrus.Entry) error {
	failMsg := fmt.Sprintf("still failing after the retry horizon (%s): %v", q.opts.RetryHorizon, runErr)
	p, err := q.db.Webhooks.Postpone(context.WithoutCancel(ctx), c.IDs, runErr.Error(), failMsg,
		q.opts.Now().Add(-q.opts.RetryHorizon))
	if err != nil {
		return errors.Join(runErr, err) // still claimed: the next round takes them again
	}
	action := string(c.Request.Action)
	if len(p.Failed) > 0 {
		outs := make([]webhook.Outcome, len(p.Failed))
		for i, id := range p.Failed {
			outs[i] = webhook.Outcome{WebhookID: id, State: webhook.StateFailed, Message: failMsg}
		}
		q.settle(c.Request.ContactID, action, webhook.StateFailed, outs, log.WithError(runErr).WithFields(logrus.Fields{
			"class": webhook.Temporary.String(), "reason": "retry horizon passed", "failed": len(p.Failed),
		}), "round failed for good")
	}
	if len(p.Failed) == len(c.IDs) {
		q.clearBackoff(c.Request.ContactID) // a manual retry runs at once
	}
	if slices.Contains(p.Failed, job.own) {
		return river.JobCancel(runErr)
	}
	next := q.retryDelay(max(job.n, p.Attempts))
	q.setBackoff(c.Request.ContactID, next)
	q.countJob(action, "retry")
	log.WithError(runErr).WithField("retry_in_ms", next.Milliseconds()).Warn("round failed, will retry")
	if job.n >= job.max {
		return river.JobSnooze(next) // a job from before jobMaxAttempts: River would discard it
	}
	return &retryError{err: runErr}
}

// failForGood fails every claimed webhook with the round's permanent error
// and cancels the job.
func (q *Queue) failForGood(ctx context.Context, c *webhook.Claimed, v webhook.Verdict, runErr error, log *logrus.Entry) error {
	outs := make([]webhook.Outcome, 0, len(c.IDs))
	for _, id := range c.IDs {
		outs = append(outs, webhook.Outcome{WebhookID: id, State: webhook.StateFailed, Message: runErr.Error()})
	}
	if err := q.db.Webhooks.Finish(context.WithoutCancel(ctx), outs); err != nil {
		return err
	}
	q.clearBackoff(c.Request.ContactID)
	q.settle(c.Request.ContactID, string(c.Request.Action), webhook.StateFailed, outs,
		log.WithError(runErr).WithField("class", v.Class.String()), "round failed for good")
	return river.JobCancel(runErr)
}

// retryError makes River retry; River's own message keeps the cause.
type retryError struct{ err error }

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }
