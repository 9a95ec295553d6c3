package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

// TestSubmitGroupCommit submits from many goroutines at once: every webhook
// gets its own id, its row and its job are committed, and all are worked.
func TestSubmitGroupCommit(t *testing.T) {
	e := startEnv(t, nil, nil, fastOptions())
	const n = 64
	ids := make([]int64, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := e.q.Submit(context.Background(), hook(fmt.Sprint(1000+i%16), contactsync.ActionUpdate))
			if err != nil {
				errs <- err
				return
			}
			ids[i] = o.WebhookID
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Submit: %v", err)
	}
	seen := map[int64]bool{}
	for _, id := range ids {
		if id == 0 || seen[id] {
			t.Fatalf("webhook ids not distinct and non-zero: %v", ids)
		}
		seen[id] = true
		if state, _ := e.jobOf(id); state == "" {
			t.Errorf("webhook %d has no job", id)
		}
	}
	for _, o := range e.waitFinal(ids...) {
		if o.State != webhook.StateDone && o.State != webhook.StateIgnored {
			t.Errorf("webhook %d ended %s: %s", o.WebhookID, o.State, o.Message)
		}
	}
	// 16 contacts: each is worked by at least one round.
	if calls := len(e.runner.Calls()); calls < 16 {
		t.Errorf("rounds = %d, want at least one per contact (16)", calls)
	}
}

// TestSubmitMaxPending: with MaxPending webhooks pending, Submit stores
// nothing more (neither the row nor a job) and says so; once work is done,
// webhooks are stored again. Concurrent submits sharing a commit are
// admitted up to the limit exactly.
func TestSubmitMaxPending(t *testing.T) {
	opts := fastOptions()
	opts.MaxPending = 3
	e := openEnv(t, "", nil, nil, opts) // not started: nothing gets done
	rows := func() (hooks, jobs int) {
		t.Helper()
		if err := e.db.QueryRow(`SELECT count(*) FROM wpbridge_webhook`).Scan(&hooks); err != nil {
			t.Fatal(err)
		}
		if err := e.db.QueryRow(`SELECT count(*) FROM river_job`).Scan(&jobs); err != nil {
			t.Fatal(err)
		}
		return hooks, jobs
	}
	var ids []int64
	for i := range 3 {
		ids = append(ids, e.submit(hook(fmt.Sprint(100+i), contactsync.ActionAdd)).WebhookID)
	}
	for _, w := range []webhook.Webhook{hook("200", contactsync.ActionAdd), hook("100", contactsync.ActionUpdate)} {
		o, err := e.q.Submit(context.Background(), w)
		if !errors.Is(err, webhook.ErrTooManyPending) {
			t.Fatalf("Submit over MaxPending = %+v, %v; want ErrTooManyPending", o, err)
		}
	}
	if h, j := rows(); h != 3 || j != 3 {
		t.Fatalf("%d webhooks and %d jobs stored, want 3 and 3", h, j)
	}

	e.start()
	e.waitFinal(ids...)
	wait.For(t, 5*time.Second, "the expected state", func() (bool, string) {
		_, err := e.q.Submit(context.Background(), hook("200", contactsync.ActionAdd))
		return err == nil, fmt.Sprint(err)
	})

	// 20 at once against a limit of 5: exactly 5 stored.
	opts.MaxPending = 5
	e2 := openEnv(t, "", nil, nil, opts)
	var wg sync.WaitGroup
	var mu sync.Mutex
	stored, refused := 0, 0
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e2.q.Submit(context.Background(), hook(fmt.Sprint(300+i), contactsync.ActionAdd))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				stored++
			case errors.Is(err, webhook.ErrTooManyPending):
				refused++
			default:
				t.Errorf("Submit: %v", err)
			}
		}()
	}
	wg.Wait()
	var n int
	if err := e2.db.QueryRow(`SELECT count(*) FROM wpbridge_webhook`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if stored != 5 || refused != 15 || n != 5 {
		t.Errorf("stored %d, refused %d, rows %d; want 5, 15, 5", stored, refused, n)
	}
}

// TestGroupCommitWaitIdle: waitIdle returns once no commit is in flight or
// gathering: not while a leader commits, nor while the next batch gathered
// behind it is led.
func TestGroupCommitWaitIdle(t *testing.T) {
	var g groupCommit
	g.waitIdle(context.Background(), time.Hour) // nothing in flight: at once
	r1 := &submission{lead: make(chan struct{}, 1)}
	r2 := &submission{lead: make(chan struct{}, 1)}
	if !g.enqueue(r1) {
		t.Fatal("the first submission does not lead")
	}
	done := make(chan struct{})
	go func() {
		g.waitIdle(context.Background(), time.Hour)
		close(done)
	}()
	notDone := func(when string) {
		t.Helper()
		select {
		case <-done:
			t.Fatalf("waitIdle returned %s", when)
		default:
		}
	}
	g.take() // r1's commit is in flight
	if g.enqueue(r2) {
		t.Fatal("a submission gathered behind a commit leads")
	}
	notDone("while the first commit is in flight")
	g.handOn()
	<-r2.lead // r2 leads the next commit
	notDone("while the gathered batch is led")
	g.take()
	g.handOn()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("waitIdle did not return once idle")
	}
}
