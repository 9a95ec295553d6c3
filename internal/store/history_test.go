package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

// insertAt stores w with its arrival at t and returns its id.
func insertAt(t *testing.T, db *DB, w webhook.Webhook) int64 {
	t.Helper()
	var id int64
	inTx(t, db, func(tx *sql.Tx) (err error) {
		id, err = db.Webhooks.Insert(context.Background(), tx, &w)
		return err
	})
	return id
}

func get(t *testing.T, db *DB, id int64) webhook.Record {
	t.Helper()
	r, err := db.Webhooks.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get(%d): %v", id, err)
	}
	return r
}

func TestWebhooksGet(t *testing.T) { eachBackend(t, testWebhooksGet) }

func testWebhooksGet(t *testing.T, db *DB) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	w := webhook.Webhook{ReceivedAt: at, Source: webhook.SourceImport, Async: true, Request: webhook.Request{
		ContactID: "42", Action: contactsync.ActionAdd, Role: "customer", SendNotification: true,
		Tags: []string{"a", "b"}, HasTags: true, EmailHint: "x@example.com",
	}}
	id := insertAt(t, db, w)
	r := get(t, db, id)
	if r.ID != id || !r.ReceivedAt.Equal(at) || !r.RetryFrom.Equal(at) || r.Source != webhook.SourceImport || !r.Async ||
		r.State != webhook.StatePending || r.Attempts != 0 || r.Error != "" || r.Message != "" || !r.FinishedAt.IsZero() {
		t.Errorf("Get = %+v", r)
	}
	if q := r.Request; q.ContactID != "42" || q.Action != contactsync.ActionAdd || q.Role != "customer" ||
		!q.SendNotification || !q.HasTags || !slices.Equal(q.Tags, []string{"a", "b"}) || q.EmailHint != "x@example.com" {
		t.Errorf("request = %+v", q)
	}
	// The default source is webhook; no tags field reads as no tags.
	plain := get(t, db, insertAt(t, db, webhook.Webhook{ReceivedAt: at, Request: req("7")}))
	if plain.Source != webhook.SourceWebhook || plain.Async || plain.Request.HasTags {
		t.Errorf("plain webhook = %+v", plain)
	}
	_, err := db.Webhooks.Get(context.Background(), 99999)
	if !errors.Is(err, webhook.ErrNotFound) || !strings.Contains(err.Error(), "99999") {
		t.Errorf("Get(unknown) = %v, want webhook.ErrNotFound naming the id", err)
	}
}

func TestWebhooksFinishCountsAttempts(t *testing.T) { eachBackend(t, testWebhooksFinishCountsAttempts) }

func testWebhooksFinishCountsAttempts(t *testing.T, db *DB) {
	ctx := context.Background()
	ids := insert(t, db, req("1"), req("2"), req("3"))
	if err := db.Webhooks.Finish(ctx, []webhook.Outcome{
		{WebhookID: ids[0], State: webhook.StateDone, Message: "created user 5", UserID: 5},
		{WebhookID: ids[1], State: webhook.StateFailed, Message: "contact 2 has an invalid email address"},
	}); err != nil {
		t.Fatal(err)
	}
	inTx(t, db, func(tx *sql.Tx) error {
		return db.Webhooks.FinishTx(ctx, tx, []webhook.Outcome{{WebhookID: ids[2], State: webhook.StateIgnored, Message: "echo"}})
	})
	for _, tc := range []struct {
		id              int64
		state, err, msg string
		attempts        int
	}{
		{ids[0], webhook.StateDone, "", "created user 5", 1},
		{ids[1], webhook.StateFailed, "contact 2 has an invalid email address", "contact 2 has an invalid email address", 1},
		{ids[2], webhook.StateIgnored, "", "echo", 0}, // finished without a round: no attempt
	} {
		r := get(t, db, tc.id)
		if r.State != tc.state || r.Error != tc.err || r.Message != tc.msg || r.Attempts != tc.attempts || r.FinishedAt.IsZero() {
			t.Errorf("webhook %d = %+v, want %s/%q/%q after %d attempts", tc.id, r, tc.state, tc.err, tc.msg, tc.attempts)
		}
	}
}

func TestWebhooksPostpone(t *testing.T) { eachBackend(t, testWebhooksPostpone) }

func testWebhooksPostpone(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now().Truncate(time.Microsecond) // PostgreSQL keeps microseconds
	old := insertAt(t, db, webhook.Webhook{ReceivedAt: now.Add(-3 * time.Hour), Request: req("42")})
	fresh := insertAt(t, db, webhook.Webhook{ReceivedAt: now.Add(-time.Minute), Request: req("42")})
	other := insertAt(t, db, webhook.Webhook{ReceivedAt: now.Add(-5 * time.Hour), Request: req("7")})
	c, err := db.Webhooks.Claim(ctx, "42", 1)
	if err != nil || !slices.Equal(c.IDs, []int64{old, fresh}) {
		t.Fatalf("Claim = %v, %v", c, err)
	}
	// First failure, horizon 4h: both go back to pending.
	p, err := db.Webhooks.Postpone(ctx, c.IDs, "503 from WordPress", "gave up", now.Add(-4*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Failed) != 0 || p.Attempts != 1 {
		t.Errorf("Postpone = %+v, want nothing failed, 1 attempt", p)
	}
	for _, id := range c.IDs {
		if r := get(t, db, id); r.State != webhook.StatePending || r.Attempts != 1 || r.Error != "503 from WordPress" || r.Message != "" {
			t.Errorf("webhook %d after a temporary failure = %+v", id, r)
		}
	}
	// Second failure, horizon 2h: the old one is past it.
	if c, err = db.Webhooks.Claim(ctx, "42", 2); err != nil {
		t.Fatal(err)
	}
	p, err = db.Webhooks.Postpone(ctx, c.IDs, "connection refused", "gave up: connection refused", now.Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Failed, []int64{old}) || p.Attempts != 2 {
		t.Errorf("Postpone = %+v, want %d failed, 2 attempts", p, old)
	}
	if r := get(t, db, old); r.State != webhook.StateFailed || r.Message != "gave up: connection refused" ||
		r.Error != "connection refused" || r.Attempts != 2 || r.FinishedAt.IsZero() {
		t.Errorf("old webhook = %+v, want failed", r)
	}
	if r := get(t, db, fresh); r.State != webhook.StatePending || r.Attempts != 2 || r.Error != "connection refused" {
		t.Errorf("fresh webhook = %+v, want pending", r)
	}
	// Only the round's webhooks are touched, and pending means not claimed:
	// the next claim takes the fresh one again.
	if r := get(t, db, other); r.State != webhook.StatePending || r.Attempts != 0 {
		t.Errorf("other contact's webhook = %+v", r)
	}
	if c, err := db.Webhooks.Claim(ctx, "42", 3); err != nil || !slices.Equal(c.IDs, []int64{fresh}) {
		t.Errorf("Claim after Postpone = %v, %v", c, err)
	}
	if from, err := db.Webhooks.RetryFrom(ctx, fresh); err != nil || !from.Equal(now.Add(-time.Minute)) {
		t.Errorf("RetryFrom = %v, %v", from, err)
	}
	if _, err := db.Webhooks.RetryFrom(ctx, 99999); err == nil {
		t.Error("RetryFrom(unknown): no error")
	}
	if p, err := db.Webhooks.Postpone(ctx, nil, "x", "x", now); err != nil || len(p.Failed) != 0 {
		t.Errorf("Postpone(nothing) = %+v, %v", p, err)
	}
}

func TestWebhooksList(t *testing.T) { eachBackend(t, testWebhooksList) }

func testWebhooksList(t *testing.T, db *DB) {
	ctx := context.Background()
	ids := insert(t, db, req("1"), req("2"), req("1"), req("3"), req("1"))
	if err := db.Webhooks.Finish(ctx, []webhook.Outcome{
		{WebhookID: ids[0], State: webhook.StateFailed, Message: "bad"},
		{WebhookID: ids[1], State: webhook.StateDone, Message: "ok"},
		{WebhookID: ids[3], State: webhook.StateFailed, Message: "bad"},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Webhooks.Claim(ctx, "1", 9); err != nil { // claimed lists as pending
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    ListOptions
		want []int64
	}{
		{"all, newest first", ListOptions{}, []int64{ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{"limit", ListOptions{Limit: 2}, []int64{ids[4], ids[3]}},
		{"failed", ListOptions{State: webhook.StateFailed}, []int64{ids[3], ids[0]}},
		{"pending includes claimed", ListOptions{State: webhook.StatePending}, []int64{ids[4], ids[2]}},
		{"contact", ListOptions{ContactID: "1"}, []int64{ids[4], ids[2], ids[0]}},
		{"failed of a contact", ListOptions{State: webhook.StateFailed, ContactID: "1"}, []int64{ids[0]}},
		{"nothing", ListOptions{State: webhook.StateIgnored}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := db.Webhooks.List(ctx, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, r := range rs {
				got = append(got, r.ID)
				if r.State == stateClaimed {
					t.Errorf("webhook %d listed as claimed", r.ID)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("List(%+v) = %v, want %v", tc.o, got, tc.want)
			}
		})
	}
	// The default limit is 50.
	var many []webhook.Request
	for range 60 {
		many = append(many, req("5"))
	}
	insert(t, db, many...)
	if rs, err := db.Webhooks.List(ctx, ListOptions{}); err != nil || len(rs) != 50 {
		t.Errorf("List with no limit = %d rows, %v; want 50", len(rs), err)
	}
}

func TestWebhooksRetry(t *testing.T) { eachBackend(t, testWebhooksRetry) }

func testWebhooksRetry(t *testing.T, db *DB) {
	ctx := context.Background()
	arrived := time.Now().Add(-100 * time.Hour).Truncate(time.Microsecond) // PostgreSQL keeps microseconds
	a := insertAt(t, db, webhook.Webhook{ReceivedAt: arrived, Request: req("1")})
	b := insertAt(t, db, webhook.Webhook{ReceivedAt: arrived, Request: req("2")})
	done := insertAt(t, db, webhook.Webhook{ReceivedAt: arrived, Request: req("1")})
	if err := db.Webhooks.Finish(ctx, []webhook.Outcome{
		{WebhookID: a, State: webhook.StateFailed, Message: "bad email"},
		{WebhookID: b, State: webhook.StateFailed, Message: "bad email"},
		{WebhookID: done, State: webhook.StateDone, Message: "ok"},
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		contact string
		want    []int64
	}{{"", []int64{a, b}}, {"1", []int64{a}}, {"9", nil}} {
		if got, err := db.Webhooks.FailedIDs(ctx, tc.contact); err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("FailedIDs(%q) = %v, %v; want %v", tc.contact, got, err, tc.want)
		}
	}
	now := time.Now().Truncate(time.Microsecond)
	var got []Retried
	inTx(t, db, func(tx *sql.Tx) (err error) {
		got, err = db.Webhooks.RetryTx(ctx, tx, []int64{a, done, 99999}, now)
		return err
	})
	if !slices.Equal(got, []Retried{{ID: a, ContactID: "1"}}) {
		t.Errorf("RetryTx = %+v, want only the failed webhook", got)
	}
	r := get(t, db, a)
	if r.State != webhook.StatePending || !r.RetryFrom.Equal(now) || r.Message != "" || !r.FinishedAt.IsZero() ||
		r.Attempts != 1 || r.Error != "bad email" || !r.ReceivedAt.Equal(arrived) {
		t.Errorf("retried webhook = %+v, want pending with a fresh horizon, its history kept", r)
	}
	if r := get(t, db, done); r.State != webhook.StateDone {
		t.Errorf("done webhook after RetryTx = %+v", r)
	}
	// A retried webhook is claimed by the contact's next round.
	if c, err := db.Webhooks.Claim(ctx, "1", 1); err != nil || !slices.Equal(c.IDs, []int64{a}) {
		t.Errorf("Claim after retry = %v, %v", c, err)
	}
}

// v0Row is a webhook as the first release stored it.
const v0Row = `INSERT INTO wpbridge_webhook (received_at, contact_id, action, state, message, finished_at)
	VALUES ('2026-01-02T03:04:05.5Z', '42', 'add', 'failed', 'bad email', '2026-01-02T03:05:00Z')`

func TestSchemaUpgradeInPlace(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "wpbridge.db")
	// A database as the first release left it: version 0, old columns.
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(sqliteSchema + v0Row); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	db, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("open a version 0 database: %v", err)
	}
	var version int
	if err := db.SQL.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil || version != SchemaVersion || version < 1 {
		t.Fatalf("user_version = %d, %v; want %d", version, err, SchemaVersion)
	}
	r := get(t, db, 1)
	want := time.Date(2026, 1, 2, 3, 4, 5, 5e8, time.UTC)
	if r.Source != webhook.SourceWebhook || r.Async || r.Attempts != 0 || !r.RetryFrom.Equal(want) || !r.ReceivedAt.Equal(want) ||
		r.State != webhook.StateFailed || r.Message != "bad email" {
		t.Errorf("old webhook after the upgrade = %+v", r)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Opening again changes nothing.
	db = openAt(t, path)
	if r2 := get(t, db, 1); !reflect.DeepEqual(r2, r) {
		t.Errorf("after a second open %+v, want %+v", r2, r)
	}

	// A database from a newer wpbridge is refused.
	if _, err := db.SQL.Exec(`PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err := OpenSQLite(ctx, path); err == nil {
		db.Close()
		t.Error("a newer schema version was accepted")
	} else if !strings.Contains(err.Error(), "newer") {
		t.Errorf("error %q does not say the schema is newer", err)
	}
}

func openAt(t *testing.T, path string) *DB {
	t.Helper()
	db, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenSQLiteSharedBesideTheOwner(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "wpbridge.db")
	owner := openAt(t, path)
	if !owner.OwnsWork() {
		t.Error("OpenSQLite: OwnsWork = false")
	}
	// A history command opens the file while the server holds the lock,
	// and both write.
	shared, err := OpenSQLiteShared(ctx, path)
	if err != nil {
		t.Fatalf("OpenSQLiteShared while the owner runs: %v", err)
	}
	defer shared.Close()
	if shared.OwnsWork() {
		t.Error("OpenSQLiteShared: OwnsWork = true")
	}
	a := insert(t, owner, req("1"))[0]
	b := insert(t, shared, req("2"))[0]
	if err := shared.Webhooks.Finish(ctx, []webhook.Outcome{{WebhookID: a, State: webhook.StateFailed, Message: "x"}}); err != nil {
		t.Fatal(err)
	}
	if r := get(t, owner, a); r.State != webhook.StateFailed {
		t.Errorf("owner reads %+v after the shared writer failed it", r)
	}
	if r := get(t, owner, b); r.Request.ContactID != "2" {
		t.Errorf("owner reads %+v", r)
	}
	// The owner's lock still keeps a second owner out, and closing the
	// shared handle does not release it.
	if err := shared.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err := OpenSQLite(ctx, path); err == nil {
		db.Close()
		t.Error("a second owner opened the database")
	}
}

// TestSchemaUpgradeByTwoOpeners: a server and a history command opening an
// old database at the same moment upgrade it once, and both work.
func TestSchemaUpgradeByTwoOpeners(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wpbridge.db")
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(sqliteSchema + v0Row); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	type opened struct {
		db  *DB
		err error
	}
	res := make(chan opened, 4)
	for i := range 4 {
		go func() {
			open := OpenSQLiteShared
			if i == 0 {
				open = OpenSQLite
			}
			db, err := open(context.Background(), path)
			res <- opened{db, err}
		}()
	}
	for range 4 {
		o := <-res
		if o.err != nil {
			t.Errorf("open: %v", o.err)
			continue
		}
		if r := get(t, o.db, 1); r.Source != webhook.SourceWebhook || r.RetryFrom.IsZero() {
			t.Errorf("upgraded webhook %+v", r)
		}
		o.db.Close()
	}
}
