package history

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

// newDB is a migrated SQLite store with a failed and a done webhook.
func newDB(t *testing.T) (db *store.DB, failed, done int64) {
	t.Helper()
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	ins := func(contact string) int64 {
		tx, err := db.SQL.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		id, err := db.Webhooks.Insert(ctx, tx, &webhook.Webhook{ReceivedAt: time.Now(),
			Request: contactsync.Request{ContactID: contact, Action: contactsync.ActionAdd}})
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		return id
	}
	failed, done = ins("42"), ins("43")
	if err := db.Webhooks.Finish(ctx, []webhook.Outcome{
		{WebhookID: failed, State: webhook.StateFailed, Message: "contact 42 has an invalid email address"},
		{WebhookID: done, State: webhook.StateDone, Message: "created user 5", UserID: 5},
	}); err != nil {
		t.Fatal(err)
	}
	return db, failed, done
}

// TestRetryChecksFirst: given one id that is not failed and one that is
// not stored, Retry puts back none and says why for each.
func TestRetryChecksFirst(t *testing.T) {
	db, failed, done := newDB(t)
	called := false
	h := New(db, func(context.Context, []int64, time.Time) ([]int64, error) { called = true; return nil, nil })
	got, err := h.Retry(context.Background(), failed, done, 999)
	if got != nil || called {
		t.Fatalf("Retry = %v (requeue called %v), want nothing retried", got, called)
	}
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrNotFailed) {
		t.Fatalf("error %v does not wrap ErrNotFound and ErrNotFailed", err)
	}
	for _, want := range []string{"nothing retried", "is done, not failed", "webhook 999: no such webhook", "HISTORY_RETENTION"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// TestRetryLeftAlone: a webhook that changed state between the check and
// the requeue is reported as not failed, beside the ids put back.
func TestRetryLeftAlone(t *testing.T) {
	db, failed, _ := newDB(t)
	h := New(db, func(_ context.Context, ids []int64, _ time.Time) ([]int64, error) { return []int64{}, nil })
	got, err := h.Retry(context.Background(), failed)
	if got == nil || len(got) != 0 || !errors.Is(err, ErrNotFailed) || errors.Is(err, ErrNotFound) {
		t.Fatalf("Retry = %v, %v; want none put back and ErrNotFailed", got, err)
	}
	if want := "1 of 1 webhooks were no longer failed and were left alone"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

// TestRetryFailed retries every failed webhook of a contact, and nil when
// there is none.
func TestRetryFailed(t *testing.T) {
	db, failed, _ := newDB(t)
	var asked []int64
	h := New(db, func(_ context.Context, ids []int64, _ time.Time) ([]int64, error) { asked = ids; return ids, nil })
	ctx := context.Background()
	if got, err := h.RetryFailed(ctx, "43"); got != nil || err != nil || asked != nil {
		t.Fatalf("RetryFailed(43) = %v, %v (requeued %v), want nil", got, err, asked)
	}
	if got, err := h.RetryFailed(ctx, ""); err != nil || !slices.Equal(got, []int64{failed}) {
		t.Fatalf("RetryFailed = %v, %v, want [%d]", got, err, failed)
	}
}

// TestShowReplayHint: a failed webhook's text ends with the command that
// replays it, the same hint the server and the log give.
func TestShowReplayHint(t *testing.T) {
	db, failed, done := newDB(t)
	h := New(db, nil)
	for _, id := range []int64{failed, done} {
		d, err := h.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := WriteShow(&b, d, false); err != nil {
			t.Fatal(err)
		}
		hint := webhook.ReplayHint(id)
		if got := strings.HasSuffix(b.String(), "\n"+hint+"\n"); got != (id == failed) {
			t.Errorf("webhook %d (%s): ends with %q = %v\n%s", id, d.State, hint, got, b.String())
		}
	}
	if got := webhook.ReplayHint(3, 14); got != "replay with: wpbridge webhooks retry 3 14" {
		t.Errorf("webhook.ReplayHint(3, 14) = %q", got)
	}
}

// TestTextEscapesControlCharacters: what came from outside (the payload,
// WordPress's error text) is printed with its control and bidi characters
// escaped, so a terminal shows them instead of acting on them.
func TestTextEscapesControlCharacters(t *testing.T) {
	const evil = "a\x1b]0;pwned\x07b\x1b[2J\r\u202ec\u009bd\ne"
	d := &Detail{Webhook: Webhook{ID: 7, Source: "webhook", Action: "add", ContactID: "42" + evil, State: webhook.StateFailed,
		Error: "WordPress said: " + evil, Message: evil}, Email: evil + "@example.com", Role: evil, HasTags: true, Tags: []string{evil}, Reassign: evil, Delete: true}
	var list, show strings.Builder
	if err := WriteList(&list, []Webhook{d.Webhook}, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteShow(&show, d, false); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"list": list.String(), "show": show.String()} {
		body := strings.ReplaceAll(out, "\n", "") // the lines' own ends
		if i := strings.IndexFunc(body, func(r rune) bool { return r < 0x20 || (r >= 0x7f && r < 0xa0) || r == '\u202e' }); i >= 0 {
			t.Errorf("%s prints a control character at byte %d: %q", name, i, out)
		}
		if !strings.Contains(out, `a\x1b]0;pwned\ab\x1b[2J\r\u202ec\u009bd`) {
			t.Errorf("%s does not show the escaped text:\n%s", name, out)
		}
	}
	if !strings.Contains(show.String(), `\u009bd\ne`) {
		t.Errorf("show split a value over several lines:\n%s", show.String())
	}
}
