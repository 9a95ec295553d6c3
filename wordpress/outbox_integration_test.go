package wordpress_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

// pullAll returns every pending outbox event, oldest first.
func pullAll(t *testing.T, wp *wordpress.Client) []wordpress.Event {
	t.Helper()
	var all []wordpress.Event
	var after int64
	for {
		batch, err := wp.Outbox.Pull(t.Context(), after, 200)
		if err != nil {
			t.Fatalf("pull after %d: %v", after, err)
		}
		all = append(all, batch...)
		if len(batch) < 200 {
			return all
		}
		after = batch[len(batch)-1].ID
	}
}

// eventsOf returns the pulled events of user id.
func eventsOf(events []wordpress.Event, id int64) []wordpress.Event {
	var out []wordpress.Event
	for _, ev := range events {
		if ev.UserID == id {
			out = append(out, ev)
		}
	}
	return out
}

func TestIntegration_Outbox(t *testing.T) {
	env := wptest.Env(t)
	env.LockOutbox(t)
	wp := env.Client(t)
	ctx := t.Context()

	// Disabled: a sign-up leaves nothing.
	if _, err := wp.Outbox.Disable(ctx, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := wp.Outbox.Disable(context.Background(), false); err != nil {
			t.Errorf("disable: %v", err)
		}
	})
	offEmail := wptest.UniqueEmail(t, "outbox-off")
	offID := env.Register(t, strings.TrimSuffix(offEmail, "@example.com"), offEmail)
	t.Cleanup(func() { wp.Users.Delete(context.Background(), offID, 0) })
	if got := eventsOf(pullAll(t, wp), offID); len(got) != 0 {
		t.Errorf("disabled outbox recorded %+v", got)
	}

	// Protected keys are refused.
	if _, err := wp.Outbox.Enable(ctx, []string{"wp_capabilities"}); !errors.Is(err, wordpress.ErrInvalid) {
		t.Errorf("enable with wp_capabilities: %v, want ErrInvalid", err)
	}
	st, err := wp.Outbox.Enable(ctx, []string{"billing_phone", "activecampaign_contact_id"})
	if err != nil {
		t.Fatal(err)
	}
	if !st.Enabled || st.Limit != wordpress.OutboxLimit || st.DBVersion == "" || len(st.MetaKeys) != 2 || st.UserID == 0 || st.Epoch == "" {
		t.Errorf("status after enable = %+v", st)
	}
	start := time.Now().Add(-2 * time.Second).UTC()

	// A visitor's sign-up through wp-login.php is recorded in that request.
	email := wptest.UniqueEmail(t, "outbox-reg")
	login := strings.TrimSuffix(email, "@example.com")
	id := env.Register(t, login, email)
	t.Cleanup(func() { wp.Users.Delete(context.Background(), id, 0) })
	got := eventsOf(pullAll(t, wp), id)
	if len(got) != 1 || got[0].Type != wordpress.EventRegister || got[0].User.Email != email || got[0].User.Login != login || got[0].Epoch != st.Epoch ||
		got[0].Time.Before(start.Truncate(time.Second)) {
		t.Fatalf("events of the sign-up = %+v", got)
	}

	// The user's own profile edit (its own application password): one update with the mapped meta,
	// the old email, never the password.
	own, err := wordpress.NewClient(env.URL, login, env.UserAppPassword(t, id))
	if err != nil {
		t.Fatal(err)
	}
	newEmail := wptest.UniqueEmail(t, "outbox-new")
	_, err = own.Users.Update(ctx, id, wordpress.UserRequest{Fields: map[string]string{
		"first_name": "Zoë", "email": newEmail, "password": "Own-pass-" + login,
	}})
	if err != nil {
		t.Fatalf("own update: %v", err)
	}
	got = eventsOf(pullAll(t, wp), id)
	if len(got) != 2 || got[1].Type != wordpress.EventUpdate || got[1].User.FirstName != "Zoë" ||
		got[1].User.Email != newEmail || got[1].User.OldEmail != email {
		t.Fatalf("events after the own edit = %+v", got)
	}

	// wpbridge's own writes (the user that enabled the outbox) are never recorded: no loop.
	_, err = wp.Users.Update(ctx, id, wordpress.UserRequest{
		Fields: map[string]string{"last_name": "Bridge"},
		Meta:   map[string]any{"billing_phone": "555-0100", "activecampaign_contact_id": "42"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ownEmail := wptest.UniqueEmail(t, "outbox-own")
	created, err := wp.Users.Create(ctx, wordpress.UserRequest{Fields: map[string]string{
		"email": ownEmail, "username": strings.TrimSuffix(ownEmail, "@example.com"), "password": "Pw-" + ownEmail}})
	if err != nil {
		t.Fatal(err)
	}
	all := pullAll(t, wp)
	if n := len(eventsOf(all, id)); n != 2 {
		t.Errorf("wpbridge's update was recorded: %+v", eventsOf(all, id))
	}
	if got := eventsOf(all, created.ID); len(got) != 0 {
		t.Errorf("wpbridge's create was recorded: %+v", got)
	}

	// A mapped meta key changed by the user is an update carrying it.
	if _, err := own.Users.Update(ctx, id, wordpress.UserRequest{Fields: map[string]string{"last_name": "Own"}}); err != nil {
		t.Fatal(err)
	}
	got = eventsOf(pullAll(t, wp), id)
	if len(got) != 3 || got[2].User.LastName != "Own" || got[2].User.Meta["billing_phone"] != "555-0100" ||
		got[2].User.Meta["activecampaign_contact_id"] != "42" {
		t.Fatalf("events after the second own edit = %+v", got)
	}
	if v, ok := got[2].User.Field("billing_phone"); !ok || v != "555-0100" {
		t.Errorf("Field(billing_phone) = %q, %v", v, ok)
	}

	// Ack deletes up to an id, not beyond; acknowledging again is harmless.
	if _, err := wp.Outbox.Ack(ctx, got[1].ID); err != nil {
		t.Fatal(err)
	}
	if left := eventsOf(pullAll(t, wp), id); len(left) != 1 || left[0].ID != got[2].ID {
		t.Errorf("after ack up to %d: %+v", got[1].ID, left)
	}
	if _, err := wp.Outbox.Ack(ctx, got[2].ID); err != nil {
		t.Fatal(err)
	}
	if n, err := wp.Outbox.Ack(ctx, got[2].ID); err != nil || n != 0 {
		t.Errorf("second ack: %d, %v", n, err)
	}
	if left := eventsOf(pullAll(t, wp), id); len(left) != 0 {
		t.Errorf("after ack: %+v", left)
	}
	st, err = wp.Outbox.Status(ctx)
	if err != nil || st.Oldest != 0 && st.Oldest <= got[2].ID {
		t.Errorf("status after ack = %+v, %v", st, err)
	}

	// wpbridge's own delete is not recorded.
	if err := wp.Users.Delete(ctx, created.ID, 0); err != nil {
		t.Fatal(err)
	}
	// A delete by a site manager (the user made administrator) is recorded, with the user as it was.
	victimEmail := wptest.UniqueEmail(t, "outbox-del")
	victim := env.Register(t, strings.TrimSuffix(victimEmail, "@example.com"), victimEmail)
	env.SetCapabilities(t, id, "administrator")
	err = own.Users.Delete(ctx, victim, 0)
	env.SetCapabilities(t, id, "subscriber") // wpbridge never deletes an administrator (the cleanup)
	if err != nil {
		t.Fatal(err)
	}
	all = pullAll(t, wp)
	if got := eventsOf(all, created.ID); len(got) != 0 {
		t.Errorf("wpbridge's delete was recorded: %+v", got)
	}
	del := eventsOf(all, victim)
	if len(del) != 2 || del[0].Type != wordpress.EventRegister || del[1].Type != wordpress.EventDelete || del[1].User.Email != victimEmail {
		t.Errorf("events of the deleted user = %+v", del)
	}
}

func TestIntegration_OutboxPermissions(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	author := env.AuthorClient(t)
	ctx := t.Context()
	if _, err := author.Outbox.Status(ctx); !errors.Is(err, wordpress.ErrForbidden) && !errors.Is(err, wordpress.ErrUnauthorized) {
		t.Errorf("author status: %v, want 403", err)
	}
	if _, err := author.Outbox.Enable(ctx, nil); !errors.Is(err, wordpress.ErrForbidden) && !errors.Is(err, wordpress.ErrUnauthorized) {
		t.Errorf("author enable: %v, want 403", err)
	}
	if _, err := author.Outbox.Pull(ctx, 0, 10); !errors.Is(err, wordpress.ErrForbidden) && !errors.Is(err, wordpress.ErrUnauthorized) {
		t.Errorf("author pull: %v, want 403", err)
	}
	if _, err := author.Outbox.Ack(ctx, 1<<40); !errors.Is(err, wordpress.ErrForbidden) && !errors.Is(err, wordpress.ErrUnauthorized) {
		t.Errorf("author ack: %v, want 403", err)
	}
}

// The outbox keeps at most OutboxLimit events: the oldest are dropped and counted.
func TestIntegration_OutboxBound(t *testing.T) {
	env := wptest.Env(t)
	env.LockOutbox(t)
	wp := env.Client(t)
	ctx := t.Context()
	if _, err := wp.Outbox.Enable(ctx, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := wp.Outbox.Disable(context.Background(), false); err != nil {
			t.Errorf("disable: %v", err)
		}
	})
	register := func(prefix string) (int64, wordpress.Event) {
		email := wptest.UniqueEmail(t, prefix)
		id := env.Register(t, strings.TrimSuffix(email, "@example.com"), email)
		t.Cleanup(func() { wp.Users.Delete(context.Background(), id, 0) })
		got := eventsOf(pullAll(t, wp), id)
		if len(got) != 1 {
			t.Fatalf("events of %s = %+v", email, got)
		}
		return id, got[0]
	}
	_, first := register("outbox-old")
	before, err := wp.Outbox.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env.SetOutboxNextID(t, first.ID+wordpress.OutboxLimit)
	_, last := register("outbox-bound")
	if last.ID != first.ID+wordpress.OutboxLimit {
		t.Fatalf("new event id %d, want %d", last.ID, first.ID+wordpress.OutboxLimit)
	}
	after, err := wp.Outbox.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all := pullAll(t, wp)
	for _, ev := range all {
		if ev.ID == first.ID {
			t.Errorf("event %d, %d ids older than the newest, was kept", first.ID, wordpress.OutboxLimit)
		}
	}
	if after.Dropped <= before.Dropped || after.Oldest <= first.ID || after.Newest != last.ID {
		t.Errorf("status before %+v, after %+v", before, after)
	}
	if _, err := wp.Outbox.Ack(ctx, last.ID); err != nil {
		t.Fatal(err)
	}
}

// Drop (the uninstall of a must-use plugin) removes the table and the
// settings; enabling again makes a new table with a new epoch, so an event id
// reused by the new table never passes for an old event.
func TestIntegration_OutboxDrop(t *testing.T) {
	env := wptest.Env(t)
	env.LockOutbox(t)
	wp := env.Client(t)
	ctx := t.Context()
	before, err := wp.Outbox.Enable(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := wp.Outbox.Disable(context.Background(), false); err != nil {
			t.Errorf("disable: %v", err)
		}
	})
	dropped, err := wp.Outbox.Drop(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if dropped.Enabled || dropped.DBVersion != "" || dropped.Pending != 0 || dropped.Dropped != 0 {
		t.Errorf("status after drop = %+v", dropped)
	}
	if evs, err := wp.Outbox.Pull(ctx, 0, 10); err != nil || len(evs) != 0 {
		t.Errorf("pull without a table = %+v, %v", evs, err)
	}
	if n, err := wp.Outbox.Ack(ctx, 10); err != nil || n != 0 {
		t.Errorf("ack without a table = %d, %v", n, err)
	}
	// Disabled without a table: a sign-up records nothing and creates nothing.
	email := wptest.UniqueEmail(t, "outbox-drop")
	id := env.Register(t, strings.TrimSuffix(email, "@example.com"), email)
	t.Cleanup(func() { wp.Users.Delete(context.Background(), id, 0) })
	if st, err := wp.Outbox.Status(ctx); err != nil || st.DBVersion != "" {
		t.Errorf("status after a sign-up while dropped = %+v, %v", st, err)
	}
	after, err := wp.Outbox.Enable(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if after.DBVersion == "" || after.Epoch == "" || after.Epoch == before.Epoch {
		t.Errorf("epoch before %q, after re-creating the table %q (status %+v)", before.Epoch, after.Epoch, after)
	}
}
