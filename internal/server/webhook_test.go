package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

const formType = "application/x-www-form-urlencoded"

// hookCase is one request against the real router.
type hookCase struct {
	name    string
	method  string // default POST
	target  string
	ctype   string // default formType when body is set
	body    string
	reader  func() io.Reader // body of unknown length (overrides body)
	setup   func(q *fakeQueue)
	want    int    // HTTP status
	status  string // reply.Status; "" = not checked
	msg     string // substring of reply.Message; "" = not checked
	submit  bool   // whether the webhook must reach Submit
	waits   int    // expected Wait calls (-1: not checked)
	check   func(t *testing.T, w webhook.Webhook)
	mutate  func(*http.Request)
	noWaits bool
}

func root(query string) string { return "/?" + query }

// longLocal returns an email local part of n characters (two bytes each).
func longLocal(n int) string { return strings.Repeat("%C3%A9", n) }

// tagList returns a form-encoded contact[tags] value naming n tags.
func tagList(n int) string {
	tags := make([]string, n)
	for i := range tags {
		tags[i] = fmt.Sprint("tag", i)
	}
	return url.QueryEscape(strings.Join(tags, ", "))
}
func clean(action, query string) string {
	return "/webhooks/activecampaign/" + action + "?" + query
}

// pending makes Submit store the webhook without finishing it.
func pending(q *fakeQueue) {
	q.SubmitFunc = func(context.Context, webhook.Webhook) (webhook.Outcome, error) {
		return webhook.Outcome{WebhookID: 9, State: "pending"}, nil
	}
}

// waitGives makes a pending webhook end in state after Wait.
func waitGives(state, message string) func(q *fakeQueue) {
	return func(q *fakeQueue) {
		pending(q)
		q.WaitFunc = func(_ context.Context, id int64, d time.Duration) (webhook.Outcome, error) {
			if d != 2*time.Second {
				return webhook.Outcome{}, errStore
			}
			return webhook.Outcome{WebhookID: id, State: state, Message: message, UserID: 77}, nil
		}
	}
}

func wantRequest(contactID string, action contactsync.Action) func(t *testing.T, w webhook.Webhook) {
	return func(t *testing.T, w webhook.Webhook) {
		t.Helper()
		if w.Request.ContactID != contactID || w.Request.Action != action {
			t.Errorf("submitted contact %q action %q, want %q %q", w.Request.ContactID, w.Request.Action, contactID, action)
		}
	}
}

func hookCases() []hookCase {
	k1 := "access_key=" + key1
	over := "contact%5Bid%5D=1&pad=" + strings.Repeat("a", MaxBody)
	exact := "contact%5Bid%5D=5&pad="
	exact += strings.Repeat("b", MaxBody-len(exact))
	return []hookCase{
		// Access key.
		{name: "missing key", method: "GET", target: root("wpf_action=add&contact_id=1"), want: 403, msg: "access key"},
		{name: "empty key", method: "GET", target: root("wpf_action=add&access_key=&contact_id=1"), want: 403},
		{name: "wrong key", method: "GET", target: root("wpf_action=add&access_key=WRONG-presented-KEY-42&contact_id=1"), want: 403},
		{name: "wrong key clean path", target: clean("add", "access_key=WRONG-presented-KEY-43"), body: "contact%5Bid%5D=1", want: 403},
		{name: "wrong key in body", target: "/", body: "wpf_action=add&access_key=WRONG-presented-KEY-44&contact%5Bid%5D=1", want: 403},
		{name: "key prefix is not the key", method: "GET", target: root("wpf_action=add&contact_id=1&access_key=" + key1[:10]), want: 403},
		{name: "key plus suffix is not the key", method: "GET", target: root("wpf_action=add&contact_id=1&access_key=" + key1 + "x"), want: 403},
		{name: "wrong key and bad action still 403", method: "GET", target: root("wpf_action=nope&access_key=WRONG-presented-KEY-45"), want: 403},
		{name: "wrong key and json body still 403", target: clean("add", "access_key=WRONG-presented-KEY-46"), ctype: "application/json", body: `{"contact":{"id":1}}`, want: 403},
		{name: "second key works (rotation)", method: "GET", target: root("wpf_action=add&contact_id=3&access_key=" + key2), want: 200, status: "done", submit: true, check: wantRequest("3", contactsync.ActionAdd)},

		// Action.
		{name: "unknown action", method: "GET", target: root("wpf_action=delete&contact_id=1&" + k1), want: 400, msg: "unknown action"},
		{name: "unknown action clean", method: "GET", target: clean("purge", "contact_id=1&"+k1), want: 400, msg: "unknown action"},
		{name: "long unknown action is cut", method: "GET", target: clean(strings.Repeat("x", 50), "contact_id=1&"+k1), want: 400,
			msg: `unknown action "` + strings.Repeat("x", 40) + `…"`},
		{name: "cut never splits a rune", method: "GET", target: clean("x"+strings.Repeat("é", 30), "contact_id=1&"+k1), want: 400,
			msg: `unknown action "x` + strings.Repeat("é", 19) + `…"`},
		{name: "empty wpf_action", method: "GET", target: root("wpf_action=&contact_id=1&" + k1), want: 400, msg: "no action"},
		{name: "root without wpf_action", method: "GET", target: root("contact_id=1&" + k1), want: 404},
		{name: "root without anything", method: "GET", target: "/", want: 404},
		{name: "unknown path", method: "GET", target: "/wp-login.php?" + k1, want: 404},
		{name: "action is case-insensitive", method: "GET", target: clean("UPDATE_TAGS", "contact_id=4&"+k1), want: 200, submit: true, check: wantRequest("4", contactsync.ActionUpdateTags)},
		{name: "test action", method: "GET", target: root("wpf_action=test&" + k1), want: 200, status: "ok"},
		{name: "test action clean", target: clean("test", k1), want: 200, status: "ok"},

		// Body.
		{name: "body over 1 MiB", target: root("wpf_action=add&" + k1), body: over, want: 413},
		{name: "body over 1 MiB without key", target: root("wpf_action=add"), body: over, want: 413},
		{name: "body over 1 MiB unknown length", target: clean("add", k1), ctype: formType,
			reader: func() io.Reader { return io.MultiReader(strings.NewReader(over)) }, want: 413},
		{name: "body of exactly 1 MiB", target: clean("add", k1), body: exact, want: 200, submit: true, check: wantRequest("5", contactsync.ActionAdd)},
		{name: "broken percent-encoding in body", target: clean("add", k1), body: "contact%5Bid%5D=1&x=%zz", want: 400, msg: "not a valid form"},
		{name: "broken percent-encoding in query", method: "GET", target: root("wpf_action=add&contact_id=1&x=%zz&" + k1), want: 400},
		{name: "json body", target: clean("add", k1), ctype: "application/json", body: `{"contact":{"id":"1"}}`, want: 415},
		{name: "multipart body", target: clean("add", k1), ctype: "multipart/form-data; boundary=x", body: "--x\r\nContent-Disposition: form-data; name=\"contact[id]\"\r\n\r\n1\r\n--x--\r\n", want: 415},
		{name: "garbage content type", target: clean("add", k1), ctype: "%%%", body: "contact%5Bid%5D=1", want: 415},
		{name: "form content type with charset", target: clean("add", k1), ctype: formType + "; charset=UTF-8", body: "contact%5Bid%5D=6", want: 200, submit: true, check: wantRequest("6", contactsync.ActionAdd)},

		// Contact id.
		{name: "missing contact id", target: clean("add", k1), body: "contact%5Bemail%5D=a%40example.com", want: 400, msg: "no contact id"},
		{name: "contact_id fallback in query", method: "GET", target: root("wpf_action=update&contact_id=123&email=q%40example.com&" + k1), want: 200, submit: true,
			check: func(t *testing.T, w webhook.Webhook) {
				wantRequest("123", contactsync.ActionUpdate)(t, w)
				if w.Request.EmailHint != "q@example.com" {
					t.Errorf("EmailHint %q", w.Request.EmailHint)
				}
			}},
		{name: "body contact id wins over query", target: clean("add", "contact_id=2&"+k1), body: "contact%5Bid%5D=8", want: 200, submit: true, check: wantRequest("8", contactsync.ActionAdd)},
		{name: "non-numeric contact id in query", method: "GET", target: root("wpf_action=add&contact_id=12a&" + k1), want: 400},
		{name: "negative contact id in query", method: "GET", target: root("wpf_action=add&contact_id=-1&" + k1), want: 400},
		{name: "non-numeric contact id in body", target: clean("add", k1), body: "contact%5Bid%5D=1+OR+1%3D1", want: 400},
		{name: "empty contact id in body", target: clean("add", k1), body: "contact%5Bid%5D=", want: 400},
		{name: "contact id too long", target: clean("add", k1), body: "contact%5Bid%5D=" + strings.Repeat("9", 21), want: 400},

		// Values that are not text.
		{name: "NUL in body value", target: clean("add", k1), body: "contact%5Bid%5D=1&contact%5Bfirst_name%5D=a%00b", want: 400},
		{name: "invalid UTF-8 in body value", target: clean("add", k1), body: "contact%5Bid%5D=1&contact%5Btags%5D=%FF%FE", want: 400},
		{name: "invalid UTF-8 in body key", target: clean("add", k1), body: "contact%5Bid%5D=1&%C0=x", want: 400},
		{name: "NUL in query email", method: "GET", target: root("wpf_action=add&contact_id=1&email=a%00%40b.c&" + k1), want: 400},
		{name: "invalid UTF-8 in query", method: "GET", target: root("wpf_action=add&contact_id=1&note=%FF&" + k1), want: 400},

		// Injection attempts are data: accepted and passed through verbatim.
		{name: "injection in tags and email", target: clean("update_tags", k1),
			body: url.Values{
				"contact[id]":         {"10"},
				"contact[tags]":       {"<script>alert(1)</script>, '; DROP TABLE wp_users; --, {{7*7}}, ${jndi:ldap://x}"},
				"contact[email]":      {"\"'OR 1=1--\"@example.com"},
				"contact[first_name]": {"Robert'); DROP TABLE Students;--"},
			}.Encode(),
			want: 200, submit: true,
			check: func(t *testing.T, w webhook.Webhook) {
				want := []string{"<script>alert(1)</script>", "'; DROP TABLE wp_users; --", "{{7*7}}", "${jndi:ldap://x}"}
				if !slices.Equal(w.Request.Tags, want) || !w.Request.HasTags {
					t.Errorf("tags %q (HasTags %v), want %q", w.Request.Tags, w.Request.HasTags, want)
				}
				if w.Request.EmailHint != "\"'OR 1=1--\"@example.com" {
					t.Errorf("EmailHint %q", w.Request.EmailHint)
				}
			}},
		{name: "unicode tags", target: clean("update_tags", k1), body: url.Values{"contact[id]": {"11"}, "contact[tags]": {"Café, 日本語, 🎉"}}.Encode(),
			want: 200, submit: true, check: func(t *testing.T, w webhook.Webhook) {
				if !slices.Equal(w.Request.Tags, []string{"Café", "日本語", "🎉"}) {
					t.Errorf("tags %q", w.Request.Tags)
				}
			}},

		// Role, flags.
		{name: "role administrator is passed on (policy downgrades)", method: "GET", target: root("wpf_action=add&contact_id=1&role=administrator&" + k1), want: 200, submit: true,
			check: func(t *testing.T, w webhook.Webhook) {
				if w.Request.Role != "administrator" {
					t.Errorf("Role %q", w.Request.Role)
				}
			}},
		{name: "role is lower-cased", method: "GET", target: root("wpf_action=add&contact_id=1&role=+Customer+&" + k1), want: 200, submit: true,
			check: func(t *testing.T, w webhook.Webhook) {
				if w.Request.Role != "customer" {
					t.Errorf("Role %q", w.Request.Role)
				}
			}},
		{name: "role with space", method: "GET", target: root("wpf_action=add&contact_id=1&role=shop+manager&" + k1), want: 400, msg: "role"},
		{name: "role with markup", method: "GET", target: root("wpf_action=add&contact_id=1&role=%3Cb%3E&" + k1), want: 400},
		{name: "role with quote", method: "GET", target: root("wpf_action=add&contact_id=1&role=a'b&" + k1), want: 400},
		{name: "role too long", method: "GET", target: root("wpf_action=add&contact_id=1&role=" + strings.Repeat("r", 65) + "&" + k1), want: 400},
		{name: "send_notification=maybe", method: "GET", target: root("wpf_action=add&contact_id=1&send_notification=maybe&" + k1), want: 400, msg: "send_notification"},
		{name: "send_notification=true", method: "GET", target: root("wpf_action=add&contact_id=1&send_notification=true&" + k1), want: 200, submit: true,
			check: func(t *testing.T, w webhook.Webhook) {
				if !w.Request.SendNotification {
					t.Error("SendNotification false")
				}
			}},
		{name: "async=maybe", method: "GET", target: root("wpf_action=add&contact_id=1&async=maybe&" + k1), want: 400, msg: "async"},

		// Storing and waiting.
		{name: "async answers 202 without waiting", method: "GET", target: root("wpf_action=add&contact_id=1&async=true&" + k1), setup: pending,
			want: 202, status: "queued", submit: true, noWaits: true, check: func(t *testing.T, w webhook.Webhook) {
				if !w.Async {
					t.Error("Async false: the history would not show it")
				}
			}},
		{name: "sync is not stored as async", method: "GET", target: root("wpf_action=add&contact_id=1&" + k1), want: 200, submit: true,
			check: func(t *testing.T, w webhook.Webhook) {
				if w.Async {
					t.Error("Async true")
				}
			}},
		{name: "sync wait done", target: clean("add", k1), body: "contact%5Bid%5D=1", setup: waitGives(webhook.StateDone, "created"), want: 200, status: "done", submit: true},
		{name: "sync wait ignored", target: root("wpf_action=update&" + k1), body: "contact%5Bid%5D=1", setup: waitGives(webhook.StateIgnored, "no user"), want: 200, status: "ignored", msg: "no user", submit: true},
		{name: "sync wait failed", target: root("wpf_action=add&" + k1), body: "contact%5Bid%5D=1", setup: waitGives(webhook.StateFailed, "invalid email"), want: 422, status: "failed", msg: "invalid email", submit: true},
		{name: "failed answer says how to replay", target: root("wpf_action=add&" + k1), body: "contact%5Bid%5D=1", setup: waitGives(webhook.StateFailed, "invalid email"), want: 422, status: "failed", msg: "invalid email (replay with: wpbridge webhooks retry 9)", submit: true},
		{name: "sync wait still pending", method: "GET", target: root("wpf_action=add&contact_id=1&" + k1), setup: waitGives("pending", ""), want: 202, status: "queued", submit: true},
		{name: "wait error still 202", method: "GET", target: root("wpf_action=add&contact_id=1&" + k1), want: 202, submit: true,
			setup: func(q *fakeQueue) {
				pending(q)
				q.WaitFunc = func(context.Context, int64, time.Duration) (webhook.Outcome, error) {
					return webhook.Outcome{}, errStore
				}
			}},
		{name: "echo ignored at submit, no wait", method: "GET", target: root("wpf_action=update&contact_id=1&" + k1), want: 200, status: "ignored", submit: true, noWaits: true,
			setup: func(q *fakeQueue) {
				q.SubmitFunc = func(context.Context, webhook.Webhook) (webhook.Outcome, error) {
					return webhook.Outcome{WebhookID: 3, State: webhook.StateIgnored, Message: "echo"}, nil
				}
			}},
		{name: "submit error is 503", target: clean("add", k1), body: "contact%5Bid%5D=1", want: 503, msg: "nothing was acknowledged", submit: true, noWaits: true,
			setup: func(q *fakeQueue) {
				q.SubmitFunc = func(context.Context, webhook.Webhook) (webhook.Outcome, error) { return webhook.Outcome{}, errStore }
			}},

		// Limits: 400, nothing stored; over MAX_PENDING: 503.
		{name: "huge email and 100,000 tags", target: clean("add", k1),
			body: "contact%5Bid%5D=1&contact%5Bemail%5D=" + strings.Repeat("a", 400_000) + "%40example.com&contact%5Btags%5D=" +
				strings.Repeat("ab,+", 100_000), want: 400},
		{name: "email of 255 characters", target: clean("add", k1), body: "contact%5Bid%5D=1&contact%5Bemail%5D=" + longLocal(255-12) + "%40example.com",
			want: 400, msg: "contact[email] is longer than 254 characters"},
		{name: "email of 254 characters", target: clean("add", k1), body: "contact%5Bid%5D=1&contact%5Bemail%5D=" + longLocal(254-12) + "%40example.com",
			want: 200, submit: true},
		{name: "query email of 255 characters", method: "GET", target: root("wpf_action=update&contact_id=1&email=" + longLocal(255-12) + "%40example.com&" + k1),
			want: 400, msg: "email is longer than 254 characters"},
		{name: "501 tags", target: clean("update_tags", k1), body: "contact%5Bid%5D=1&contact%5Btags%5D=" + tagList(501), want: 400, msg: "more than 500"},
		{name: "500 tags", target: clean("update_tags", k1), body: "contact%5Bid%5D=1&contact%5Btags%5D=" + tagList(500), want: 200, submit: true,
			check: func(t *testing.T, w webhook.Webhook) {
				if len(w.Request.Tags) != 500 {
					t.Errorf("%d tags", len(w.Request.Tags))
				}
			}},
		{name: "tag of 256 characters", target: clean("update_tags", k1), body: "contact%5Bid%5D=1&contact%5Btags%5D=a,+" + strings.Repeat("t", 256),
			want: 400, msg: "longer than 255 characters"},
		{name: "over MAX_PENDING is 503", target: clean("add", k1), body: "contact%5Bid%5D=1", want: 503, msg: "nothing was stored", submit: true, noWaits: true,
			setup: func(q *fakeQueue) {
				q.SubmitFunc = func(context.Context, webhook.Webhook) (webhook.Outcome, error) {
					return webhook.Outcome{}, fmt.Errorf("queue: %w: 5 pending", webhook.ErrTooManyPending)
				}
			}},

		// URL forms, methods, PHP $_REQUEST semantics.
		{name: "root GET", method: "GET", target: root("wpf_action=add&contact_id=20&" + k1), want: 200, submit: true, check: wantRequest("20", contactsync.ActionAdd)},
		{name: "root POST", target: root("wpf_action=update&" + k1), body: "contact%5Bid%5D=21", want: 200, submit: true, check: wantRequest("21", contactsync.ActionUpdate)},
		{name: "clean GET", method: "GET", target: clean("update", "contact_id=22&"+k1), want: 200, submit: true, check: wantRequest("22", contactsync.ActionUpdate)},
		{name: "clean POST", target: clean("update_tags", k1), body: "contact%5Bid%5D=23&contact%5Btags%5D=a", want: 200, submit: true, check: wantRequest("23", contactsync.ActionUpdateTags)},
		{name: "action and key in body", target: "/", body: "wpf_action=add&access_key=" + key2 + "&contact%5Bid%5D=24&role=customer", want: 200, submit: true,
			check: func(t *testing.T, w webhook.Webhook) {
				wantRequest("24", contactsync.ActionAdd)(t, w)
				if w.Request.Role != "customer" {
					t.Errorf("Role %q", w.Request.Role)
				}
			}},
		{name: "key in body on clean path", target: clean("add", ""), body: "access_key=" + key1 + "&contact%5Bid%5D=25", want: 200, submit: true, check: wantRequest("25", contactsync.ActionAdd)},
		{name: "POST without content type uses the query", target: root("wpf_action=add&contact_id=26&" + k1), ctype: "-", body: "ignored", want: 200, submit: true, check: wantRequest("26", contactsync.ActionAdd)},
		{name: "AC event fields are kept", target: clean("update", k1), body: "type=contact_tag_added&initiated_from=admin&contact%5Bid%5D=27", want: 200, submit: true,
			check: func(t *testing.T, w webhook.Webhook) {
				if w.EventType != "contact_tag_added" || w.InitiatedFrom != "admin" {
					t.Errorf("EventType %q InitiatedFrom %q", w.EventType, w.InitiatedFrom)
				}
			}},
	}
}

func TestWebhookTable(t *testing.T) {
	q := &fakeQueue{}
	s, logs := newTestServer(t, Options{SyncTimeout: 2 * time.Second}, q)
	for _, tc := range hookCases() {
		t.Run(tc.name, func(t *testing.T) {
			q.reset()
			if tc.setup != nil {
				tc.setup(q)
			}
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			var body io.Reader
			ctype := tc.ctype
			switch {
			case tc.reader != nil:
				body = tc.reader()
			case tc.body != "":
				body = strings.NewReader(tc.body)
				if ctype == "" {
					ctype = formType
				}
			}
			if ctype == "-" {
				ctype = ""
			}
			rec := send(s, method, tc.target, ctype, body, tc.mutate)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.want, rec.Body.String())
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			r := decode(t, rec)
			if tc.status != "" && r.Status != tc.status {
				t.Errorf("reply status %q, want %q", r.Status, tc.status)
			}
			if rec.Code >= 400 && (r.Status != "error" && rec.Code != 422) {
				t.Errorf("error reply status %q", r.Status)
			}
			if rec.Code >= 400 && r.Message == "" {
				t.Error("error reply without a message")
			}
			if tc.msg != "" && !strings.Contains(r.Message, tc.msg) {
				t.Errorf("message %q lacks %q", r.Message, tc.msg)
			}
			subs, waits := q.recorded()
			switch {
			case !tc.submit && len(subs) != 0:
				t.Fatalf("rejected request was submitted: %+v", subs)
			case tc.submit && len(subs) != 1:
				t.Fatalf("submitted %d webhooks, want 1", len(subs))
			}
			if tc.noWaits && waits != 0 {
				t.Errorf("Wait called %d times, want none", waits)
			}
			if tc.check != nil {
				tc.check(t, subs[0])
			}
			if (rec.Code == 202 || rec.Code == 200 && tc.submit) && r.WebhookID == 0 {
				t.Errorf("stored webhook answered without webhook_id: %s", rec.Body.String())
			}
		})
	}

	// The server is still healthy after the table.
	if rec := send(s, "GET", "/healthz", "", nil, nil); rec.Code != 200 {
		t.Fatalf("/healthz %d after the table", rec.Code)
	}

	out := logs.String()
	for _, secret := range []string{key1, key2, key1[:10], "WRONG-presented-KEY"} {
		if strings.Contains(out, secret) {
			t.Errorf("log output contains a presented access key %q", secret)
		}
	}
	for _, e := range logs.entries(t) {
		if e["msg"] != "request" {
			continue
		}
		if p, _ := e["path"].(string); strings.ContainsAny(p, "?&=") {
			t.Errorf("access log path %q carries a query string", p)
		}
	}
	for _, frag := range []string{"contact_id=20", "contact_id=22", "wpf_action=add&", "send_notification=true", "async=true"} {
		if strings.Contains(out, frag) {
			t.Errorf("log output contains query fragment %q", frag)
		}
	}
}

// TestOtherMethods: webhooks are GET or POST; other methods store nothing.
func TestOtherMethods(t *testing.T) {
	q := &fakeQueue{}
	s, _ := newTestServer(t, Options{SyncTimeout: time.Second}, q)
	for _, m := range []string{"PUT", "DELETE", "PATCH"} {
		for _, target := range []string{"/?wpf_action=add&access_key=" + key1, "/webhooks/activecampaign/add?access_key=" + key1} {
			q.reset()
			rec := send(s, m, target, formType, strings.NewReader("contact%5Bid%5D=1"), nil)
			if rec.Code != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %d, want 405", m, target, rec.Code)
			}
			if got, _ := q.recorded(); len(got) != 0 {
				t.Errorf("%s %s: %d webhooks submitted, want 0", m, target, len(got))
			}
		}
	}
}

// TestNever410 sends every method to every route shape, with and without a
// key: AC disables a webhook for good on 410.
func TestNever410(t *testing.T) {
	q := &fakeQueue{}
	s, _ := newTestServer(t, Options{SyncTimeout: time.Second}, q)
	targets := []string{"/", "/?wpf_action=add", "/?wpf_action=add&access_key=" + key1,
		"/?wpf_action=add&contact_id=1&access_key=" + key1, "/webhooks/activecampaign/add",
		"/webhooks/activecampaign/gone?access_key=" + key1, "/webhooks/activecampaign/", "/webhooks",
		"/healthz", "/readyz", "/metrics", "/nope"}
	methods := []string{"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"}
	for _, m := range methods {
		for _, target := range targets {
			for _, fail := range []bool{false, true} {
				q.reset()
				if fail {
					q.SubmitFunc = func(context.Context, webhook.Webhook) (webhook.Outcome, error) { return webhook.Outcome{}, errStore }
				}
				rec := send(s, m, target, formType, strings.NewReader("contact%5Bid%5D=1"), nil)
				if rec.Code == http.StatusGone || (rec.Code >= 500 && rec.Code != 503) {
					t.Errorf("%s %s: %d", m, target, rec.Code)
				}
			}
		}
	}
}
