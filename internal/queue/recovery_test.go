package queue

import (
	"context"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/contactsync"
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
		if o.State == StateDone {
			done++
		} else if o.State != StateIgnored {
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

func TestStopMidRoundHandsWorkBack(t *testing.T) {
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
			e := openEnv(t, path, r, nil, fastOptions())
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
			e2 := openEnv(t, path, r2, nil, fastOptions())
			e2.start()
			if got := e2.waitFinal(o.WebhookID)[0]; got.State != StateDone {
				t.Errorf("outcome after restart %+v", got)
			}
			if n := len(r2.Calls()); n != 1 {
				t.Errorf("second runner called %d times, want 1", n)
			}
		})
	}
}

func TestOpenSQLite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "dir", "wpbridge.db") // directories are created
	db, closer, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var mode string
	var sync int
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || sync != 2 {
		t.Errorf("journal_mode=%s synchronous=%d, want wal and 2 (FULL)", mode, sync)
	}
	var fk, busy int
	if err := db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA busy_timeout`).Scan(&busy); err != nil {
		t.Fatal(err)
	}
	if fk != 1 || busy != 10000 {
		t.Errorf("foreign_keys=%d busy_timeout=%d", fk, busy)
	}

	// A second opener of the same file is refused, with a clear reason.
	_, closer2, err := OpenSQLite(ctx, path)
	if err == nil {
		closer2()
		t.Fatal("second OpenSQLite of the same file succeeded")
	}
	if !strings.Contains(err.Error(), "in use by another wpbridge process") || !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not say the database is in use", err)
	}

	// Once closed, the file can be opened again.
	if err := closer(); err != nil {
		t.Fatal(err)
	}
	_, closer3, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("reopen after close: %v", err)
	}
	if err := closer3(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenSQLiteBadPath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	db, closer, err := OpenSQLite(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	_ = db
	closer()
	// A path below a regular file cannot be created.
	if _, _, err := OpenSQLite(context.Background(), filepath.Join(file, "x.db")); err == nil {
		t.Error("OpenSQLite below a file: no error")
	}
}

func TestPasswords(t *testing.T) {
	e := openEnv(t, "", nil, nil, fastOptions())
	ctx := context.Background()
	p := Passwords{DB: e.db}
	if _, ok, err := p.PendingPassword(ctx, "42"); ok || err != nil {
		t.Fatalf("PendingPassword of nothing = %v, %v", ok, err)
	}
	if err := p.SavePendingPassword(ctx, "42", "first"); err != nil {
		t.Fatal(err)
	}
	if err := p.SavePendingPassword(ctx, "42", "second"); err != nil {
		t.Fatal(err)
	}
	if pw, ok, err := p.PendingPassword(ctx, "42"); !ok || err != nil || pw != "second" {
		t.Errorf("PendingPassword = ok %v err %v (password matches: %v)", ok, err, pw == "second")
	}
	if err := p.DeletePendingPassword(ctx, "42"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := p.PendingPassword(ctx, "42"); ok || err != nil {
		t.Errorf("PendingPassword after delete = %v, %v", ok, err)
	}
	// Errors name the contact, not the password.
	e.close()
	err := p.SavePendingPassword(ctx, "42", "s3cret")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("SavePendingPassword on a closed database = %v", err)
	}
}
