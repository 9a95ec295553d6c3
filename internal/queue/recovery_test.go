package queue

import (
	"context"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

func TestCrashMidRoundIsProcessedOnceAfterRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wpbridge.db")

	// First process: stores two webhooks for a contact, starts a round for
	// the first and is killed: its row stays claimed, its job running.
	e := openEnv(t, path, nil, nil, fastOptions())
	a := e.submit(hook("42", contactsync.ActionAdd))
	b := e.submit(hook("42", contactsync.ActionUpdate))
	var jobID int64
	if err := e.db.QueryRow(`SELECT id FROM river_job WHERE json_extract(args, '$.webhook_id') = ?`, a.WebhookID).Scan(&jobID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(`UPDATE river_job SET state = 'running', attempt = 1, attempted_at = datetime('now', 'subsec') WHERE id = ?`, jobID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(`UPDATE wpbridge_webhook SET state = 'claimed', round = ? WHERE id = ?`, jobID, a.WebhookID); err != nil {
		t.Fatal(err)
	}
	e.close()

	// Second process on the same file.
	r := &fakeRunner{}
	e2 := openEnv(t, path, r, nil, fastOptions())
	if got := e2.outcome(a.WebhookID); got.State != "pending" {
		t.Errorf("claimed webhook after restart = %+v, want pending", got)
	}
	e2.start()
	outs := e2.waitFinal(a.WebhookID, b.WebhookID)
	e2.waitJobsFinalized()
	calls := r.Calls()
	if len(calls) != 1 {
		t.Fatalf("runner called %d times, want once: %+v", len(calls), calls)
	}
	if calls[0].Action != contactsync.ActionAdd {
		t.Errorf("round %+v, want add", calls[0])
	}
	done := 0
	for _, o := range outs {
		if o.State == webhook.StateDone {
			done++
		} else if o.State != webhook.StateIgnored {
			t.Errorf("webhook %+v", o)
		}
	}
	if done != 1 {
		t.Errorf("%d webhooks done, want 1 (the other covered): %+v", done, outs)
	}
	if e2.logs.LastEntry() == nil {
		t.Error("nothing logged")
	}
	warned := false
	for _, en := range e2.logs.AllEntries() {
		if strings.Contains(en.Message, "interrupted") {
			warned = true
		}
	}
	if !warned {
		t.Error("no warning about resumed jobs")
	}
}

func TestStopMidRoundHandsWorkBack(t *testing.T) { stopMidRoundHandsWorkBack(t, fastOptions()) }

func stopMidRoundHandsWorkBack(t *testing.T, opts Options) {
	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"cancelled context", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}},
		{"short timeout", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "wpbridge.db")
			entered := make(chan struct{}, 1)
			var sawCancel atomic.Bool
			r := &fakeRunner{run: func(ctx context.Context, req contactsync.Request, n int) (contactsync.Result, error) {
				entered <- struct{}{}
				<-ctx.Done()
				sawCancel.Store(true)
				return contactsync.Result{}, ctx.Err()
			}}
			e := openEnv(t, path, r, nil, opts)
			e.start()
			o := e.submit(hook("42", contactsync.ActionAdd))
			select {
			case <-entered:
			case <-time.After(10 * time.Second):
				t.Fatal("runner never called")
			}
			ctx, cancel := tc.ctx()
			defer cancel()
			if err := e.q.Stop(ctx); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if !sawCancel.Load() {
				t.Error("runner did not see its context cancelled")
			}
			var state string
			if err := e.db.QueryRow(`SELECT state FROM wpbridge_webhook WHERE id = ?`, o.WebhookID).Scan(&state); err != nil {
				t.Fatal(err)
			}
			if state != "pending" {
				t.Errorf("webhook state after Stop = %q, want pending", state)
			}
			if js, _ := e.jobOf(o.WebhookID); js == "running" || js == "completed" || js == "cancelled" || js == "discarded" {
				t.Errorf("job state after Stop = %q, want it waiting to run again", js)
			}
			e.close()

			r2 := &fakeRunner{}
			e2 := openEnv(t, path, r2, nil, opts)
			e2.start()
			if got := e2.waitFinal(o.WebhookID)[0]; got.State != webhook.StateDone {
				t.Errorf("outcome after restart %+v", got)
			}
			if n := len(r2.Calls()); n != 1 {
				t.Errorf("second runner called %d times, want 1", n)
			}
		})
	}
}
