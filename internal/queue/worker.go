package queue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

// SyncArgs is the River job of one stored webhook.
type SyncArgs struct {
	WebhookID int64  `json:"webhook_id"`
	ContactID string `json:"contact_id"`
}

// Kind names the job kind in River.
func (SyncArgs) Kind() string { return "contact_sync" }

// InsertOpts makes River's attempt limit too high to matter, whichever
// client inserts the job: the webhook's retry horizon ends its retries.
func (SyncArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: jobMaxAttempts} }

// acAPI is the api under which the metrics count AC's requests
// (metrics.HTTPClient, in app.Clients).
const acAPI = "activecampaign"

// lockWait is how long a job waits before looking again when another round
// for its contact is running.
const lockWait = 200 * time.Millisecond

type syncWorker struct {
	river.WorkerDefaults[SyncArgs]
	q *Queue
}

// Work runs one round for the job's contact, covering every webhook of that
// contact still pending, unless an earlier round already covered this one.
func (w *syncWorker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	q := w.q
	o, err := q.db.Webhooks.Outcome(ctx, job.Args.WebhookID)
	if err != nil {
		return q.storeFailed(ctx, job, err)
	}
	if o.Final() {
		return nil // covered by another webhook's round
	}
	if d := q.pausedFor(); d > 0 {
		return river.JobSnooze(d)
	}
	contact := job.Args.ContactID
	if d := q.contactBackoff(contact); d > 0 {
		return river.JobSnooze(d)
	}
	if !q.locks.tryLock(contact) {
		return river.JobSnooze(lockWait)
	}
	defer q.locks.unlock(contact)
	ctx, release, err := q.reserveAC(ctx)
	if err != nil {
		return err // the job ended (shutdown or timeout): River runs it again
	}
	defer release()
	unlock, ok, err := q.fleet.LockContact(ctx, contact) // other processes sharing the database
	if err != nil {
		return q.storeFailed(ctx, job, err)
	}
	if !ok {
		return river.JobSnooze(lockWait)
	}
	defer unlock()

	c, err := q.db.Webhooks.Claim(ctx, contact, job.ID)
	if err != nil {
		return q.storeFailed(ctx, job, err)
	}
	if len(c.IDs) == 0 {
		return nil
	}
	if err := q.round(ctx, jobAttempt(job), c); err != nil || slices.Contains(c.IDs, job.Args.WebhookID) {
		return err
	}
	// A claim covers one kind (AC's webhooks or WordPress events): this
	// job's webhook is of the kind after the round's; its round is next.
	return river.JobSnooze(0)
}

// reserveAC waits for a slot of AC's budget for the round (Options.ReserveAC).
func (q *Queue) reserveAC(ctx context.Context) (context.Context, func(), error) {
	if q.opts.ReserveAC == nil {
		return ctx, func() {}, nil
	}
	return q.opts.ReserveAC(ctx)
}

// attempt is what a round's bookkeeping needs of the job that runs it.
type attempt struct {
	id     int64 // River's job id; 0 for a round started at arrival (inline.go)
	own    int64 // the job's own webhook
	n, max int   // the job's attempt, and River's limit of them
}

func jobAttempt(job *river.Job[SyncArgs]) attempt {
	return attempt{id: job.ID, own: job.Args.WebhookID, n: job.Attempt, max: job.MaxAttempts}
}

// round runs the rules on the claimed webhooks and records how it went. Its
// error is River's instruction for the job.
func (q *Queue) round(ctx context.Context, job attempt, c *webhook.Claimed) error {
	start := time.Now()
	tok := q.admit.RoundStarted(q.metrics.Sent(acAPI))
	req := c.Request
	req.Idle = job.id == 0 // started at arrival: nothing else was pending or running
	res, runErr := q.runner.Run(ctx, req)
	elapsed := time.Since(start)
	q.admit.RoundEnded(tok, elapsed, q.metrics.Sent(acAPI))
	q.metrics.JobSeconds.Observe(elapsed.Seconds())
	log := q.log.WithFields(logrus.Fields{
		"contact_id": c.Request.ContactID, "action": string(c.Request.Action), "webhooks": len(c.IDs),
		"job_id": job.id, "attempt": job.n, "duration_ms": elapsed.Milliseconds(),
	})
	if runErr == nil {
		return q.succeed(ctx, c, job.own, res, log)
	}
	return q.fail(ctx, c, job, runErr, log)
}

// shuttingDown reports whether ctx ended because the queue is stopping. A
// round that ran past JobTimeout is not shutting down: it failed.
func shuttingDown(ctx context.Context) bool {
	return ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded)
}

// succeed records the round's result on every webhook it covered: the job's
// own webhook (or the first) gets the result, the others are duplicates.
func (q *Queue) succeed(ctx context.Context, c *webhook.Claimed, own int64, res contactsync.Result, log *logrus.Entry) error {
	q.resume()
	q.clearBackoff(c.Request.ContactID)
	primary := c.IDs[0]
	if slices.Contains(c.IDs, own) {
		primary = own
	}
	outs := make([]webhook.Outcome, 0, len(c.IDs))
	for _, id := range c.IDs {
		o := webhook.Outcome{WebhookID: id, State: res.Status, Message: res.Message, UserID: res.UserID}
		if o.State != webhook.StateIgnored {
			o.State = webhook.StateDone // a round that returned no error is done
		}
		if id != primary {
			o.State = webhook.StateIgnored
			o.Message = fmt.Sprintf("duplicate: covered by webhook %d (%s)", primary, res.Message)
		}
		outs = append(outs, o)
	}
	if err := q.db.Webhooks.Finish(context.WithoutCancel(ctx), outs); err != nil {
		return err // the round is idempotent: running it again is safe
	}
	q.metrics.Coalesced.Add(float64(len(c.IDs) - 1))
	for _, w := range res.Warnings {
		log.WithFields(logrus.Fields{"user_id": res.UserID, "warning": w}).Warn("rule fallback")
	}
	q.settle(c.Request.ContactID, string(c.Request.Action), res.Status, outs, log.WithFields(logrus.Fields{
		"user_id": res.UserID, "status": res.Status, "created": res.Created, "changes": strings.Join(res.Changes, ","),
		"result": res.Message,
	}), "round done")
	return nil
}

func (q *Queue) countJob(action, outcome string) {
	q.metrics.JobsFinished.WithLabelValues(action, outcome).Inc()
}

// contactBackoff is how long a contact's jobs wait after its last round failed,
// so that its other jobs don't retry ahead of the backoff.
func (q *Queue) contactBackoff(contact string) time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	return time.Until(q.backoff[contact])
}

func (q *Queue) setBackoff(contact string, d time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.backoff[contact] = time.Now().Add(d)
}

func (q *Queue) clearBackoff(contact string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.backoff, contact)
}

// backoffPolicy is exponential backoff with ±20% jitter, never above cap.
type backoffPolicy struct{ base, cap time.Duration }

func (p *backoffPolicy) delay(attempt int) time.Duration {
	d := p.base
	for i := 1; i < attempt && d < p.cap; i++ {
		d *= 2
	}
	d = min(d, p.cap)
	jitter := 0.8 + 0.4*rand.Float64()
	return min(time.Duration(float64(d)*jitter), p.cap)
}

// NextRetry implements river.ClientRetryPolicy.
func (p *backoffPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(p.delay(job.Attempt))
}
