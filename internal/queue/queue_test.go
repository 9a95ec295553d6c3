package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

func TestSubmitStoresRowAndJobTogether(t *testing.T) {
	e := openEnv(t, "", nil, nil, fastOptions()) // not started: nothing is worked
	w := webhook.Webhook{
		Request: contactsync.Request{
			ContactID: "42", Action: contactsync.ActionAdd, Role: "customer", SendNotification: true,
			Tags: []string{"a", "b"}, HasTags: true, EmailHint: "x@example.com",
		},
		EventType: "subscribe", InitiatedFrom: "admin",
	}
	o := e.submit(w)
	if o.WebhookID == 0 || o.State != "pending" || o.Final() {
		t.Fatalf("Submit = %+v, want a pending webhook with an id", o)
	}
	if got := e.outcome(o.WebhookID); got.State != "pending" {
		t.Errorf("Outcome = %+v, want pending", got)
	}
	if state, _ := e.jobOf(o.WebhookID); state != "available" {
		t.Errorf("job state = %q, want available", state)
	}
	var contact, action, role, tags, email, event, from string
	var notify bool
	err := e.db.QueryRow(`SELECT contact_id, action, role, send_notification, tags, email_hint, event_type, initiated_from
		FROM wpbridge_webhook WHERE id = ?`, o.WebhookID).Scan(&contact, &action, &role, &notify, &tags, &email, &event, &from)
	if err != nil {
		t.Fatal(err)
	}
	if contact != "42" || action != "add" || role != "customer" || !notify || tags != `["a","b"]` ||
		email != "x@example.com" || event != "subscribe" || from != "admin" {
		t.Errorf("stored row = %q %q %q %v %q %q %q %q", contact, action, role, notify, tags, email, event, from)
	}

	// When the job cannot be inserted, the webhook row is not kept either.
	if _, err := e.db.Exec(`CREATE TRIGGER no_jobs BEFORE INSERT ON river_job BEGIN SELECT RAISE(ABORT, 'no jobs today'); END`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.q.Submit(context.Background(), hook("43", contactsync.ActionUpdate)); err == nil {
		t.Fatal("Submit succeeded although the job insert failed")
	}
	var n int
	if err := e.db.QueryRow(`SELECT count(*) FROM wpbridge_webhook WHERE contact_id = '43'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d webhook rows stored without their job", n)
	}
}

func TestSubmitRespectsCancelledContext(t *testing.T) {
	e := openEnv(t, "", nil, nil, fastOptions())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.q.Submit(ctx, hook("1", contactsync.ActionAdd)); err == nil {
		t.Fatal("Submit with a cancelled context succeeded")
	}
	var n int
	if err := e.db.QueryRow(`SELECT count(*) FROM wpbridge_webhook`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d rows stored", n)
	}
}

func TestOutcomeAndWait(t *testing.T) {
	gate := make(chan struct{})
	entered := make(chan struct{}, 1)
	r := &fakeRunner{run: func(ctx context.Context, req contactsync.Request, n int) (contactsync.Result, error) {
		entered <- struct{}{}
		<-gate
		return contactsync.Result{Status: contactsync.StatusDone, Message: "created user 9", UserID: 9}, nil
	}}
	e := startEnv(t, r, nil, fastOptions())
	o := e.submit(hook("42", contactsync.ActionAdd))
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("runner never called")
	}
	// The round is running: the webhook is still pending (claimed shows as pending).
	if got := e.outcome(o.WebhookID); got.State != "pending" || got.Final() {
		t.Errorf("Outcome during the round = %+v, want pending", got)
	}
	start := time.Now()
	got, err := e.q.Wait(context.Background(), o.WebhookID, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != "pending" {
		t.Errorf("Wait on a slow round = %+v, want pending", got)
	}
	if el := time.Since(start); el < 50*time.Millisecond {
		t.Errorf("Wait returned after %s, before its timeout", el)
	}

	// A waiter that is waiting when the round ends gets the result.
	done := make(chan webhook.Outcome, 1)
	go func() {
		o, err := e.q.Wait(context.Background(), o.WebhookID, 20*time.Second)
		if err != nil {
			t.Error(err)
		}
		done <- o
	}()
	close(gate)
	select {
	case got = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Wait did not return")
	}
	want := webhook.Outcome{WebhookID: o.WebhookID, State: webhook.StateDone, Message: "created user 9", UserID: 9}
	if got != want {
		t.Errorf("Wait = %+v, want %+v", got, want)
	}
	if got := e.outcome(o.WebhookID); got != want {
		t.Errorf("Outcome = %+v, want %+v", got, want)
	}

	// A final outcome comes back at once, whatever the timeout.
	start = time.Now()
	got, err = e.q.Wait(context.Background(), o.WebhookID, time.Hour)
	if err != nil || got != want {
		t.Errorf("Wait on a final webhook = %+v, %v", got, err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("Wait on a final webhook took %s", el)
	}

	// Wait on an unknown webhook is an error.
	if _, err := e.q.Wait(context.Background(), 99999, time.Millisecond); err == nil {
		t.Error("Wait on an unknown webhook: no error")
	}
}

func TestWaitEndsWithItsContext(t *testing.T) {
	gate := make(chan struct{})
	defer close(gate)
	r := &fakeRunner{run: func(ctx context.Context, req contactsync.Request, n int) (contactsync.Result, error) {
		select {
		case <-gate:
		case <-ctx.Done():
		}
		return contactsync.Result{Status: contactsync.StatusDone}, nil
	}}
	e := startEnv(t, r, nil, fastOptions())
	o := e.submit(hook("1", contactsync.ActionAdd))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	type result struct {
		o   webhook.Outcome
		err error
	}
	res := make(chan result, 1)
	go func() {
		o, err := e.q.Wait(ctx, o.WebhookID, time.Hour)
		res <- result{o, err}
	}()
	select {
	case r := <-res:
		// The context may also end while the outcome is read: then its error.
		if r.err != nil && !errors.Is(r.err, context.DeadlineExceeded) || r.err == nil && r.o.State != "pending" {
			t.Errorf("Wait = %+v, %v; want pending", r.o, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not end with its context")
	}
}

func TestRoundsForOneContactNeverOverlap(t *testing.T) {
	r := &fakeRunner{run: func(ctx context.Context, req contactsync.Request, n int) (contactsync.Result, error) {
		time.Sleep(15 * time.Millisecond)
		return contactsync.Result{Status: contactsync.StatusDone, Message: "ok"}, nil
	}}
	e := startEnv(t, r, nil, fastOptions())
	var ids []int64
	// Keep feeding webhooks while rounds run, so that several rounds per
	// contact happen and their jobs compete for the contact.
	for i := 0; i < 24; i++ {
		started := len(r.Calls())
		for _, c := range []string{"1", "2", "3"} {
			ids = append(ids, e.submit(hook(c, contactsync.ActionUpdate)).WebhookID)
		}
		if i%4 == 3 { // let a round start on what was just submitted
			wait.For(t, 10*time.Second, "the expected state", func() (bool, string) { return len(r.Calls()) > started, "no round started" })
		}
	}
	e.waitFinal(ids...)
	if n := r.overlaps.Load(); n != 0 {
		t.Errorf("%d rounds overlapped another round of the same contact", n)
	}
	for _, c := range []string{"1", "2", "3"} {
		if n := len(r.CallsFor(c)); n == 0 || n > 24 {
			t.Errorf("contact %s: %d rounds for 24 webhooks", c, n)
		}
	}
}

func TestDifferentContactsRunInParallel(t *testing.T) {
	const contacts = 3
	var wg sync.WaitGroup
	wg.Add(contacts)
	all := make(chan struct{})
	go func() { wg.Wait(); close(all) }()
	r := &fakeRunner{run: func(ctx context.Context, req contactsync.Request, n int) (contactsync.Result, error) {
		if n == 1 {
			wg.Done()
		}
		// Each round waits until every contact's round has started: this
		// only ends if they run at the same time.
		select {
		case <-all:
			return contactsync.Result{Status: contactsync.StatusDone, Message: "ok"}, nil
		case <-time.After(10 * time.Second):
			return contactsync.Result{}, contactsync.Permanent(fmt.Errorf("contact %s ran alone", req.ContactID))
		}
	}}
	e := startEnv(t, r, nil, fastOptions())
	var ids []int64
	for i := 0; i < contacts; i++ {
		ids = append(ids, e.submit(hook(fmt.Sprint(100+i), contactsync.ActionAdd)).WebhookID)
	}
	for _, o := range e.waitFinal(ids...) {
		if o.State != webhook.StateDone {
			t.Errorf("webhook %d: %+v", o.WebhookID, o)
		}
	}
	if m := r.maxAct.Load(); m < contacts {
		t.Errorf("at most %d rounds ran at once, want %d", m, contacts)
	}
}

func TestCoalescing(t *testing.T) {
	gate := make(chan struct{})
	entered := make(chan struct{}, 10)
	r := &fakeRunner{run: func(ctx context.Context, req contactsync.Request, n int) (contactsync.Result, error) {
		if req.ContactID != "42" {
			return contactsync.Result{Status: contactsync.StatusDone, Message: "other"}, nil
		}
		entered <- struct{}{}
		if n == 1 {
			<-gate
		}
		return contactsync.Result{Status: contactsync.StatusDone, Message: fmt.Sprintf("round %d", n), UserID: 5}, nil
	}}
	e := startEnv(t, r, nil, fastOptions())
	var once sync.Once
	release := func() { once.Do(func() { close(gate) }) }
	defer release() // let a failing test stop
	first := e.submit(webhook.Webhook{Request: contactsync.Request{ContactID: "42", Action: contactsync.ActionUpdateTags, Role: "r0"}})
	<-entered
	later := []webhook.Webhook{
		{Request: contactsync.Request{ContactID: "42", Action: contactsync.ActionUpdateTags, Role: "r1"}},
		{Request: contactsync.Request{ContactID: "42", Action: contactsync.ActionAdd, Role: "r2", SendNotification: true}},
		{Request: contactsync.Request{ContactID: "42", Action: contactsync.ActionUpdate, Role: "r3", Tags: []string{"t"}, HasTags: true}},
		{Request: contactsync.Request{ContactID: "42", Action: contactsync.ActionUpdateTags}},
	}
	var ids []int64
	for _, w := range later {
		ids = append(ids, e.submit(w).WebhookID)
	}
	other := e.submit(hook("43", contactsync.ActionUpdate)) // another contact is not held up
	if o := e.waitFinal(other.WebhookID)[0]; o.State != webhook.StateDone {
		t.Errorf("other contact: %+v", o)
	}
	release()
	outs := e.waitFinal(append([]int64{first.WebhookID}, ids...)...)
	e.waitJobsFinalized()

	calls := r.CallsFor("42")
	if len(calls) != 2 {
		t.Fatalf("%d rounds for contact 42, want 2 (the running one and one more): %+v", len(calls), calls)
	}
	if calls[0].Action != contactsync.ActionUpdateTags || calls[0].Role != "r0" {
		t.Errorf("first round = %+v", calls[0])
	}
	want := contactsync.Request{ContactID: "42", Action: contactsync.ActionAdd, Role: "r3", SendNotification: true}
	got := calls[1]
	if got.ContactID != want.ContactID || got.Action != want.Action || got.Role != want.Role ||
		got.SendNotification != want.SendNotification || got.HasTags || len(got.Tags) != 0 {
		t.Errorf("merged request = %+v, want %+v (tags of the latest webhook: none)", got, want)
	}

	if outs[0].State != webhook.StateDone || outs[0].Message != "round 1" {
		t.Errorf("first webhook: %+v", outs[0])
	}
	var primary int64
	for _, o := range outs[1:] {
		if o.State == webhook.StateDone {
			if primary != 0 {
				t.Errorf("two primaries: %d and %d", primary, o.WebhookID)
			}
			primary = o.WebhookID
			if o.Message != "round 2" || o.UserID != 5 {
				t.Errorf("primary %+v, want the round's result", o)
			}
		}
	}
	if primary == 0 {
		t.Fatalf("no webhook got the second round's result: %+v", outs)
	}
	m := e.scrape()
	for _, want := range []string{"wpbridge_webhooks_coalesced_total 3", "wpbridge_webhooks_pending 0"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q:\n%s", want, grepLines(m, "wpbridge_webhooks"))
		}
	}
	for _, o := range outs[1:] {
		if o.WebhookID == primary {
			continue
		}
		prefix := fmt.Sprintf("duplicate: covered by webhook %d", primary)
		if o.State != webhook.StateIgnored || !strings.HasPrefix(o.Message, prefix) {
			t.Errorf("covered webhook %+v, want ignored with %q", o, prefix)
		}
	}
}

func TestEchoSuppression(t *testing.T) {
	e := startEnv(t, nil, nil, fastOptions())
	ctx := context.Background()
	apiUpdate := webhook.Webhook{Request: contactsync.Request{ContactID: "42", Action: contactsync.ActionUpdate}, InitiatedFrom: "api"}

	if err := e.st.Echoes.Record(ctx, "42"); err != nil {
		t.Fatal(err)
	}
	echo := e.submit(apiUpdate)
	if echo.State != webhook.StateIgnored || !strings.Contains(echo.Message, "echo") {
		t.Fatalf("echo Submit = %+v, want ignored as an echo", echo)
	}
	if got := e.outcome(echo.WebhookID); got.State != webhook.StateIgnored || got.Message != echo.Message {
		t.Errorf("echo Outcome = %+v", got)
	}
	var n int
	if err := e.db.QueryRow(`SELECT count(*) FROM river_job`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d jobs inserted for an echo", n)
	}

	// Only one echo per write: the next API update is real.
	second := e.submit(apiUpdate)
	if second.State != "pending" {
		t.Errorf("second API update = %+v, want pending", second)
	}
	if o := e.waitFinal(second.WebhookID)[0]; o.State != webhook.StateDone {
		t.Errorf("second API update: %+v", o)
	}

	// Changes made by people in AC are never echoes, and don't use up the record.
	if err := e.st.Echoes.Record(ctx, "42"); err != nil {
		t.Fatal(err)
	}
	admin := e.submit(webhook.Webhook{Request: apiUpdate.Request, InitiatedFrom: "admin"})
	// add is never an echo either.
	add := e.submit(webhook.Webhook{Request: contactsync.Request{ContactID: "42", Action: contactsync.ActionAdd}, InitiatedFrom: "api"})
	for _, o := range []webhook.Outcome{admin, add} {
		if o.State != "pending" {
			t.Errorf("Submit = %+v, want pending", o)
		}
	}
	if o := e.submit(apiUpdate); o.State != webhook.StateIgnored {
		t.Errorf("API update after admin/add = %+v, want the echo ignored", o)
	}
	// Another contact's write does not make this one an echo.
	if err := e.st.Echoes.Record(ctx, "7"); err != nil {
		t.Fatal(err)
	}
	if o := e.submit(apiUpdate); o.State != "pending" {
		t.Errorf("API update for 42 after a write to 7 = %+v, want pending", o)
	}
	// A write older than EchoWindow is forgotten.
	if err := e.st.Echoes.Record(ctx, "42"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(`UPDATE wpbridge_ac_write SET written_at = ? WHERE contact_id = '42'`,
		time.Now().Add(-3*time.Minute).UTC().Format(time.RFC3339Nano)); err != nil {
		t.Fatal(err)
	}
	old := e.submit(apiUpdate)
	if old.State != "pending" {
		t.Errorf("API update after an old write = %+v, want pending", old)
	}
	outs := e.waitFinal(admin.WebhookID, add.WebhookID, old.WebhookID)
	for _, o := range outs {
		if o.State == webhook.StateFailed || o.State == "pending" {
			t.Errorf("webhook %+v not processed", o)
		}
	}
	for _, r := range e.runner.Calls() {
		if r.ContactID != "42" {
			t.Errorf("unexpected round %+v", r)
		}
	}
}

func TestRoundLogs(t *testing.T) {
	r := &fakeRunner{run: func(ctx context.Context, req contactsync.Request, n int) (contactsync.Result, error) {
		return contactsync.Result{Status: contactsync.StatusDone, Message: "updated user 8", UserID: 8,
			Changes: []string{"role", "tags"}, Warnings: []string{"role admin is not allowed", "no email"}}, nil
	}}
	e := startEnv(t, r, nil, fastOptions())
	o := e.submit(hook("42", contactsync.ActionUpdate))
	e.waitFinal(o.WebhookID)
	// The round logs after it recorded its outcome.
	wait.For(t, 10*time.Second, "the expected state", func() (bool, string) { return len(e.logged("round done")) > 0, "round done not logged" })
	var warnings []string
	for _, en := range e.logged("rule fallback") {
		if en.Level != logrus.WarnLevel || en.Data["contact_id"] != "42" || en.Data["user_id"] != int64(8) {
			t.Errorf("rule fallback entry %v %v", en.Level, en.Data)
		}
		warnings = append(warnings, fmt.Sprint(en.Data["warning"]))
	}
	if want := []string{"role admin is not allowed", "no email"}; !slices.Equal(warnings, want) {
		t.Errorf("warnings logged %q, want %q", warnings, want)
	}
	done := e.logged("round done")
	if len(done) != 1 || done[0].Data["changes"] != "role,tags" || done[0].Data["result"] != "updated user 8" ||
		done[0].Data["webhooks"] != 1 || done[0].Data["action"] != "update" {
		t.Errorf("round done entries %v", done)
	}
}

// TestRoundClaimsAfterBudget: a round waits for AC's budget (ReserveAC)
// before it claims its contact's webhooks, so the webhooks that arrive
// meanwhile are covered by it instead of needing a round of their own; the
// reserved context reaches the rules, and the reservation is released when
// the round ends.
func TestRoundClaimsAfterBudget(t *testing.T) { roundClaimsAfterBudget(t, fastOptions()) }

func roundClaimsAfterBudget(t *testing.T, opts Options) {
	type key struct{}
	budget := make(chan struct{})
	waiting := make(chan struct{}, 10)
	var reserved, released atomic.Int32
	opts.ReserveAC = func(ctx context.Context) (context.Context, func(), error) {
		waiting <- struct{}{}
		select {
		case <-budget:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		reserved.Add(1)
		return context.WithValue(ctx, key{}, "reserved"), func() { released.Add(1) }, nil
	}
	var unreserved atomic.Int32
	r := &fakeRunner{run: func(ctx context.Context, req contactsync.Request, n int) (contactsync.Result, error) {
		if ctx.Value(key{}) != "reserved" {
			unreserved.Add(1)
		}
		return contactsync.Result{Status: contactsync.StatusDone, Message: fmt.Sprintf("round %d", n), UserID: 5}, nil
	}}
	e := startEnv(t, r, nil, opts)
	var once sync.Once
	open := func() { once.Do(func() { close(budget) }) }
	defer open() // let a failing test stop

	ids := []int64{e.submit(hook("42", contactsync.ActionUpdate)).WebhookID}
	<-waiting // the round waits for the budget, nothing claimed yet
	for _, a := range []contactsync.Action{contactsync.ActionUpdateTags, contactsync.ActionAdd} {
		ids = append(ids, e.submit(hook("42", a)).WebhookID)
	}
	open()
	e.waitFinal(ids...)
	e.waitJobsFinalized()

	calls := r.CallsFor("42")
	if len(calls) != 1 || calls[0].Action != contactsync.ActionAdd {
		t.Fatalf("rounds for contact 42 = %+v, want one covering all three webhooks (an add)", calls)
	}
	if n := unreserved.Load(); n != 0 {
		t.Errorf("%d rounds ran without the reserved context", n)
	}
	wait.For(t, 5*time.Second, "every reservation to be released", func() (bool, string) {
		n, m := released.Load(), reserved.Load()
		return n == m && m >= 1, fmt.Sprintf("%d of %d released", n, m)
	})
}
