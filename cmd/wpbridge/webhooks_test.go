package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/metrics"
	"github.com/wpbridge/wpbridge/internal/queue"
	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/internal/testing/pgtest"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

func TestWebhooksUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", nil, "missing subcommand"},
		{"unknown subcommand", []string{"frob"}, `unknown subcommand "frob"`},
		{"unknown flag", []string{"list", "--colour"}, "flag provided but not defined: -colour"},
		{"bad state", []string{"list", "--state", "claimed"}, `--state "claimed": use pending, done, ignored or failed`},
		{"bad limit", []string{"list", "--limit", "0"}, "--limit 0"},
		{"limit not a number", []string{"list", "--limit", "lots"}, "invalid value"},
		{"bad contact", []string{"list", "--contact", "x1"}, "a contact id is a number"},
		{"list with an id", []string{"list", "3"}, "list takes no webhook id"},
		{"show without id", []string{"show"}, "exactly one webhook id"},
		{"show two ids", []string{"show", "1", "2"}, "exactly one webhook id"},
		{"show a word", []string{"show", "latest"}, `"latest" is not a webhook id`},
		{"show zero", []string{"show", "0"}, `"0" is not a webhook id`},
		{"retry nothing", []string{"retry"}, "needs webhook ids or --state failed"},
		{"retry ids and state", []string{"retry", "4", "--state", "failed"}, "not both"},
		{"retry done", []string{"retry", "--state", "done"}, "only failed webhooks"},
		{"retry contact alone", []string{"retry", "--contact", "42"}, "needs webhook ids or --state failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// No configuration: usage errors come before it.
			code, stdout, stderr := runCmd(t, context.Background(), append([]string{"webhooks"}, tc.args...), map[string]string{})
			if code != 2 || stdout != "" {
				t.Fatalf("exit %d, stdout %q; want 2 and nothing", code, stdout)
			}
			if !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "usage: wpbridge webhooks list") {
				t.Errorf("stderr lacks %q and the usage:\n%s", tc.want, stderr)
			}
		})
	}
	code, stdout, _ := runCmd(t, context.Background(), []string{"webhooks", "help"}, map[string]string{})
	if code != 0 || !strings.Contains(stdout, "wpbridge webhooks retry --state failed") {
		t.Errorf("webhooks help: exit %d, %q", code, stdout)
	}
	code, stdout, _ = runCmd(t, context.Background(), []string{"help"}, map[string]string{})
	if code != 0 || !strings.Contains(stdout, "webhooks") {
		t.Errorf("help does not list webhooks: %q", stdout)
	}
}

func TestWebhooksNeedsADatabase(t *testing.T) {
	env := baseEnv(t)
	code, _, stderr := runCmd(t, context.Background(), []string{"webhooks", "list"}, env)
	if code != 1 || !strings.Contains(stderr, "no database at") {
		t.Errorf("exit %d, stderr %q; want 1 and a clear message", code, stderr)
	}
	env["RETRY_HORIZON"] = "soon"
	if code, _, stderr := runCmd(t, context.Background(), []string{"webhooks", "list"}, env); code != 2 ||
		!strings.Contains(stderr, "RETRY_HORIZON") {
		t.Errorf("bad configuration: exit %d, %q", code, stderr)
	}
}

// historyDB is a database as a running server holds it (its work lock
// taken, River's tables made), with a failed, a done and a pending webhook.
type historyDB struct {
	env                   map[string]string
	db                    *store.DB
	failed, done, pending int64
	failed2, otherContact int64
}

// eachDB runs test on a history in SQLite and in the test PostgreSQL.
func eachDB(t *testing.T, test func(t *testing.T, h *historyDB)) {
	t.Run("sqlite", func(t *testing.T) { test(t, newHistoryDB(t, false)) })
	t.Run("postgres", func(t *testing.T) { test(t, newHistoryDB(t, true)) })
}

func newHistoryDB(t *testing.T, postgres bool) *historyDB {
	t.Helper()
	ctx := context.Background()
	h := &historyDB{env: baseEnv(t)}
	var err error
	if postgres {
		h.env["DATABASE_URL"] = pgtest.SchemaURL(t)
		h.db, err = store.OpenPostgres(ctx, h.env["DATABASE_URL"])
	} else {
		h.db, err = store.OpenSQLite(ctx, strings.TrimPrefix(h.env["DATABASE_URL"], "sqlite:"))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.db.Close() })
	if _, err := queue.New(ctx, h.db, nil, nil, queue.Options{}, logrus.New(), metrics.Discard()); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	ins := func(w webhook.Webhook) int64 {
		tx, err := h.db.SQL.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		w.ReceivedAt = at
		at = at.Add(time.Minute)
		id, err := h.db.Webhooks.Insert(ctx, tx, &w)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		return id
	}
	add := contactsync.Request{ContactID: "42", Action: contactsync.ActionAdd, Role: "customer", SendNotification: true,
		Tags: []string{"Gold", "VIP"}, HasTags: true, EmailHint: "kate@example.com"}
	h.failed = ins(webhook.Webhook{Request: add, Async: true})
	h.done = ins(webhook.Webhook{Request: contactsync.Request{ContactID: "42", Action: contactsync.ActionUpdate}})
	h.failed2 = ins(webhook.Webhook{Request: contactsync.Request{ContactID: "42", Action: contactsync.ActionUpdateTags}, Source: webhook.SourceImport})
	h.otherContact = ins(webhook.Webhook{Request: contactsync.Request{ContactID: "7", Action: contactsync.ActionUpdate}})
	h.pending = ins(webhook.Webhook{Request: contactsync.Request{ContactID: "8", Action: contactsync.ActionUpdate}})
	if err := h.db.Webhooks.Finish(ctx, []webhook.Outcome{
		{WebhookID: h.failed, State: webhook.StateFailed, Message: "contact 42 has an invalid email address"},
		{WebhookID: h.done, State: webhook.StateDone, Message: "updated user 45", UserID: 45},
		{WebhookID: h.failed2, State: webhook.StateFailed, Message: "contact 42 has an invalid email address"},
		{WebhookID: h.otherContact, State: webhook.StateFailed, Message: "contact 7 was deleted"},
	}); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *historyDB) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCmd(t, context.Background(), append([]string{"webhooks"}, args...), h.env)
}

func TestWebhooksList(t *testing.T) { eachDB(t, testWebhooksList) }

func testWebhooksList(t *testing.T, h *historyDB) {
	code, stdout, stderr := h.run(t, "list", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	want := []string{
		`{"id":5,"received_at":"2026-03-04T05:10:07Z","source":"webhook","action":"update","contact_id":"8","state":"pending","attempts":0}`,
		`{"id":4,"received_at":"2026-03-04T05:09:07Z","source":"webhook","action":"update","contact_id":"7","state":"failed","attempts":1,"error":"contact 7 was deleted"}`,
		`{"id":3,"received_at":"2026-03-04T05:08:07Z","source":"import","action":"update_tags","contact_id":"42","state":"failed","attempts":1,"error":"contact 42 has an invalid email address"}`,
		`{"id":2,"received_at":"2026-03-04T05:07:07Z","source":"webhook","action":"update","contact_id":"42","state":"done","attempts":1,"user_id":45}`,
		`{"id":1,"received_at":"2026-03-04T05:06:07Z","source":"webhook","action":"add","contact_id":"42","state":"failed","attempts":1,"error":"contact 42 has an invalid email address"}`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("list --json =\n%s\nwant\n%s", stdout, strings.Join(want, "\n"))
	}
	for _, tc := range []struct {
		args []string
		ids  []float64
	}{
		{[]string{"list", "--state", "failed", "--json"}, []float64{4, 3, 1}},
		{[]string{"list", "--json", "--state", "failed", "--contact", "42"}, []float64{3, 1}},
		{[]string{"list", "--state=pending", "--json"}, []float64{5}},
		{[]string{"list", "--limit", "2", "--json"}, []float64{5, 4}},
		{[]string{"list", "--state", "ignored", "--json"}, nil},
	} {
		code, stdout, stderr := h.run(t, tc.args...)
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", tc.args, code, stderr)
		}
		var got []float64
		for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
			var m map[string]any
			if l == "" {
				continue
			}
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("%q: line %q: %v", tc.args, l, err)
			}
			got = append(got, m["id"].(float64))
		}
		if mustJSON(got) != mustJSON(tc.ids) {
			t.Errorf("%q: ids %v, want %v", tc.args, got, tc.ids)
		}
	}
	code, stdout, _ = h.run(t, "list")
	if code != 0 || !strings.Contains(stdout, "ERROR OR RESULT") || !strings.Contains(stdout, "contact 7 was deleted") ||
		!strings.Contains(stdout, "updated user 45") || !strings.Contains(stdout, "2026-03-04T05:06:07Z") {
		t.Errorf("list table:\n%s", stdout)
	}
	if code, stdout, _ := h.run(t, "list", "--state", "ignored"); code != 0 || stdout != "no webhooks match\n" {
		t.Errorf("empty list: %d %q", code, stdout)
	}
}

func TestWebhooksShow(t *testing.T) { eachDB(t, testWebhooksShow) }

func testWebhooksShow(t *testing.T, h *historyDB) {
	code, stdout, stderr := h.run(t, "show", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("show --json %q: %v", stdout, err)
	}
	want := map[string]any{
		"id": 1.0, "received_at": "2026-03-04T05:06:07Z", "source": "webhook", "action": "add", "contact_id": "42",
		"state": "failed", "attempts": 1.0, "error": "contact 42 has an invalid email address", "role": "customer",
		"send_notification": true, "async": true, "email": "kate@example.com", "tags": []any{"Gold", "VIP"},
		"message": "contact 42 has an invalid email address", "retry_from": "2026-03-04T05:06:07Z",
	}
	for k, v := range want {
		if gb, _ := json.Marshal(got[k]); string(gb) != mustJSON(v) {
			t.Errorf("show --json %s = %s, want %s", k, gb, mustJSON(v))
		}
	}
	if _, ok := got["finished_at"]; !ok {
		t.Error("show --json has no finished_at for a finished webhook")
	}
	code, stdout, _ = h.run(t, "show", "1")
	for _, w := range []string{"payload email", "kate@example.com", "Gold, VIP", "customer", "send_notification", "true",
		"attempts", "last error", "contact 42 has an invalid email address", "replay with: wpbridge webhooks retry 1"} {
		if code != 0 || !strings.Contains(stdout, w) {
			t.Errorf("show lacks %q:\n%s", w, stdout)
		}
	}
	if code, stdout, _ := h.run(t, "show", "2"); code != 0 || strings.Contains(stdout, "replay") || !strings.Contains(stdout, "45") {
		t.Errorf("show of a done webhook:\n%s", stdout)
	}
	code, _, stderr = h.run(t, "show", "999")
	if code != 1 || !strings.Contains(stderr, "webhook 999: no such webhook") {
		t.Errorf("show of an unknown id: exit %d, %q", code, stderr)
	}
}

func TestWebhooksRetry(t *testing.T) { eachDB(t, testWebhooksRetry) }

func testWebhooksRetry(t *testing.T, h *historyDB) {
	ctx := context.Background()
	state := func(id int64) string {
		r, err := h.db.Webhooks.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return r.State
	}
	jobs := func() int {
		var n int
		if err := h.db.SQL.QueryRow(`SELECT count(*) FROM river_job`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// One id that is not failed, or unknown: nothing is retried.
	for _, args := range [][]string{{"retry", "1", "2"}, {"retry", "999", "1"}} {
		code, _, stderr := h.run(t, args...)
		if code != 1 || !strings.Contains(stderr, "nothing retried") {
			t.Errorf("%q: exit %d, %q", args, code, stderr)
		}
	}
	if !strings.Contains(mustRun(t, h, 1, "retry", "2"), "webhook 2 is done, not failed") ||
		!strings.Contains(mustRun(t, h, 1, "retry", "999"), "webhook 999: no such webhook") {
		t.Error("retry does not say why")
	}
	if state(1) != webhook.StateFailed || jobs() != 0 {
		t.Fatalf("a refused retry changed something: %s, %d jobs", state(1), jobs())
	}
	code, stdout, stderr := h.run(t, "retry", "1", "1")
	if code != 0 || !strings.HasPrefix(stdout, "1 webhook put back to pending") {
		t.Fatalf("retry 1: exit %d, %q %q", code, stdout, stderr)
	}
	if state(1) != webhook.StatePending || jobs() != 1 {
		t.Errorf("after retry 1: %s, %d jobs", state(1), jobs())
	}
	// --state failed --contact takes the contact's failed ones only.
	code, stdout, _ = h.run(t, "retry", "--state", "failed", "--contact", "42")
	if code != 0 || !strings.HasPrefix(stdout, "1 webhook put back") || state(3) != webhook.StatePending || state(4) != webhook.StateFailed {
		t.Errorf("retry --contact 42: exit %d, %q, states %s %s", code, stdout, state(3), state(4))
	}
	code, stdout, _ = h.run(t, "retry", "--state", "failed")
	if code != 0 || !strings.HasPrefix(stdout, "1 webhook put back") || state(4) != webhook.StatePending || jobs() != 3 {
		t.Errorf("retry --state failed: exit %d, %q, %d jobs", code, stdout, jobs())
	}
	if code, stdout, _ := h.run(t, "retry", "--state", "failed"); code != 0 || stdout != "no failed webhooks to retry\n" {
		t.Errorf("nothing left: %d %q", code, stdout)
	}
	query := `SELECT CAST(args AS TEXT) FROM river_job ORDER BY id LIMIT 1`
	if h.db.Backend == store.SQLite {
		query = `SELECT json(args) FROM river_job ORDER BY id LIMIT 1` // River keeps JSONB there
	}
	var raw string
	if err := h.db.SQL.QueryRow(query).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var args queue.SyncArgs
	if err := json.Unmarshal([]byte(raw), &args); err != nil || args != (queue.SyncArgs{WebhookID: 1, ContactID: "42"}) {
		t.Errorf("job args %s: %+v, %v", raw, args, err)
	}
}

func mustRun(t *testing.T, h *historyDB, code int, args ...string) string {
	t.Helper()
	got, _, stderr := h.run(t, args...)
	if got != code {
		t.Errorf("%q: exit %d, want %d", args, got, code)
	}
	return stderr
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
