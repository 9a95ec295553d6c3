package queue

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

// Submit stores a webhook and its job durably. When it returns without error
// the webhook is committed (and fsync'd). An AC update that echoes our own
// write (initiated_from=api shortly after we wrote the contact) is stored as
// ignored and starts no work. When MaxPending webhooks are pending already,
// it stores nothing and fails with webhook.ErrTooManyPending.
//
// Concurrent submits share one transaction (group commit): while one commit
// is in flight the next webhooks gather, and the first of them commits them
// all. One fsync then acknowledges many webhooks, and a lone webhook waits
// for nothing.
func (q *Queue) Submit(ctx context.Context, w webhook.Webhook) (webhook.Outcome, error) {
	if err := ctx.Err(); err != nil {
		return webhook.Outcome{}, fmt.Errorf("queue: %w", err) // the caller left: store nothing
	}
	if w.ReceivedAt.IsZero() {
		w.ReceivedAt = q.opts.Now()
	}
	r := &submission{w: w, done: make(chan struct{}), lead: make(chan struct{}, 1)}
	if q.commits.enqueue(r) {
		q.leadCommit()
	} else {
		select {
		case <-r.done:
		case <-r.lead:
			q.leadCommit()
		}
	}
	<-r.done
	return r.out, r.err
}

// submission is one webhook waiting to be committed.
type submission struct {
	w    webhook.Webhook
	out  webhook.Outcome
	err  error
	done chan struct{} // closed once committed or failed
	lead chan struct{} // told to commit the gathered batch
}

// groupCommit gathers submissions while a commit is in flight.
type groupCommit struct {
	mu      sync.Mutex
	pending []*submission
	running bool          // a leader is committing or has been named
	idle    chan struct{} // closed when running ends
}

// enqueue adds r and reports whether r leads the next commit.
func (g *groupCommit) enqueue(r *submission) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pending = append(g.pending, r)
	if g.running {
		return false
	}
	g.running, g.idle = true, make(chan struct{})
	return true
}

// waitIdle waits, up to d, until no commit is in flight or gathering: the
// webhooks that arrived with one just committed are then stored too.
func (g *groupCommit) waitIdle(ctx context.Context, d time.Duration) {
	g.mu.Lock()
	running, idle := g.running, g.idle
	g.mu.Unlock()
	if !running {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	case <-ctx.Done():
	}
}

// leadCommit commits everything gathered (the leader's own submission
// included), then names the first submission gathered meanwhile as the next
// leader, so that no caller commits for others for long.
func (q *Queue) leadCommit() {
	g := &q.commits
	batch := g.take()
	q.commitBatch(batch)
	for _, r := range batch {
		close(r.done)
	}
	g.handOn()
}

// take returns the submissions gathered so far, for the leader to commit.
func (g *groupCommit) take() []*submission {
	g.mu.Lock()
	defer g.mu.Unlock()
	batch := g.pending
	g.pending = nil
	return batch
}

// handOn ends a leader's turn: the first submission gathered meanwhile
// leads the next commit; with none, no commit is in flight any more.
func (g *groupCommit) handOn() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.pending) == 0 {
		g.running = false
		close(g.idle)
		return
	}
	g.pending[0].lead <- struct{}{}
}

// commitBatch stores a batch in one transaction. The requests' own contexts
// are not used: once gathered, a webhook is committed even if its caller left.
func (q *Queue) commitBatch(batch []*submission) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fail := func(err error) {
		for _, r := range batch {
			r.out, r.err = webhook.Outcome{}, err
		}
	}
	tx, err := q.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("queue: begin: %w", err))
		return
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	room, err := q.admit.Room(ctx, len(batch), func(ctx context.Context) (int, error) {
		return q.db.Webhooks.UnfinishedTx(ctx, tx)
	})
	if err != nil {
		fail(fmt.Errorf("queue: %w", err))
		return
	}
	var jobs []river.InsertManyParams
	for i, r := range batch {
		if i >= room {
			r.err = fmt.Errorf("queue: %w", q.admit.Refused(len(jobs)))
			continue
		}
		if r.out, err = q.insert(ctx, tx, r.w); err != nil {
			fail(err)
			return
		}
		if !r.out.Final() {
			jobs = append(jobs, river.InsertManyParams{Args: SyncArgs{WebhookID: r.out.WebhookID, ContactID: r.w.Request.ContactID}})
		}
	}
	// One statement inserts every job of the batch: River's insert costs
	// several times a webhook row's, and is paid once instead of per webhook.
	if len(jobs) > 0 {
		if _, err := q.river.InsertManyFastTx(ctx, tx, jobs); err != nil {
			fail(fmt.Errorf("queue: insert jobs: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("queue: commit: %w", err))
		return
	}
	// A lone webhook has its round started at once (inline.go); the idle
	// check is made before the batch counts as stored.
	inline := len(jobs) == 1 && len(batch) == 1 && q.inlineAllowed(batch[0].w)
	q.admit.Stored(storedContacts(batch))
	switch {
	case inline:
		q.runNow(batch[0].w, batch[0].out.WebhookID)
	case len(jobs) > 0:
		q.db.JobsInserted() // the workers start on them now, not at their next poll
	}
}

// storedContacts lists the contacts of the webhooks of batch that were
// stored pending.
func storedContacts(batch []*submission) []string {
	var cs []string
	for _, r := range batch {
		if r.err == nil && r.out.WebhookID != 0 && !r.out.Final() {
			cs = append(cs, r.w.Request.ContactID)
		}
	}
	return cs
}

// insert stores one webhook in tx; the caller inserts its job, unless the
// webhook is an echo (finished at once).
func (q *Queue) insert(ctx context.Context, tx *sql.Tx, w webhook.Webhook) (webhook.Outcome, error) {
	echo, err := q.takeEcho(ctx, tx, w)
	if err != nil {
		return webhook.Outcome{}, err
	}
	id, err := q.db.Webhooks.Insert(ctx, tx, &w)
	if err != nil {
		return webhook.Outcome{}, fmt.Errorf("queue: %w", err)
	}
	out := webhook.Outcome{WebhookID: id, State: webhook.StatePending}
	if echo {
		out.State, out.Message = webhook.StateIgnored, "echo of wpbridge's own write to ActiveCampaign"
		if err := q.db.Webhooks.FinishTx(ctx, tx, []webhook.Outcome{out}); err != nil {
			return webhook.Outcome{}, fmt.Errorf("queue: mark echo: %w", err)
		}
	}
	return out, nil
}

// takeEcho reports whether w is the echo of our own write to the contact (an
// AC update initiated from the API), and if so consumes the record of that
// write so that only one echo is dropped.
func (q *Queue) takeEcho(ctx context.Context, tx *sql.Tx, w webhook.Webhook) (bool, error) {
	if w.InitiatedFrom != "api" || w.Request.Action != contactsync.ActionUpdate {
		return false, nil
	}
	echo, err := q.db.Echoes.TakeTx(ctx, tx, w.Request.ContactID)
	if err != nil {
		return false, fmt.Errorf("queue: %w", err)
	}
	return echo, nil
}
