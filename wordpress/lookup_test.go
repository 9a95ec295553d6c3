package wordpress_test

// The companion plugin's one-request lookup and its conditional updates,
// against the real WordPress (skipped when it is not running).

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

// lookupCreate is a lookup that creates a customer for email when nobody
// is found, and deletes whatever user it answered at the end of the test.
func lookupCreate(t *testing.T, wp *wordpress.Client, contactID, email, password string, logins ...string) *wordpress.LookupResult {
	t.Helper()
	res, err := wp.Users.Lookup(t.Context(), wordpress.LookupRequest{
		Key: "activecampaign_contact_id", Value: contactID, Email: email, Password: password, Logins: logins,
		Create: &wordpress.UserRequest{
			Fields:           map[string]string{"email": email, "password": password, "first_name": "Lou"},
			Roles:            []string{"customer"},
			Meta:             map[string]any{"activecampaign_contact_id": contactID, "activecampaign_tags": []string{"VIP"}},
			SendNotification: true,
		},
	})
	if err != nil {
		t.Fatalf("lookup %s: %v", contactID, err)
	}
	if res.User != nil {
		id := res.User.ID
		t.Cleanup(func() { _ = wp.Users.Delete(context.Background(), id, 0) })
	}
	return res
}

// TestLookup_FindOrCreate: a new contact is created in one request, with
// meta, tags, role and the new-user email; the same request again finds the
// user by contact id and creates nothing (a retry after a lost answer); a
// user with the email but no link is found by email, and the route tells
// whether the password offered is its own.
func TestLookup_FindOrCreate(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	wp := env.Client(t)
	email := wptest.UniqueEmail(t, "lookup")
	contactID := "lk-" + strings.TrimSuffix(email, "@example.com")
	login := strings.ReplaceAll(strings.TrimSuffix(email, "@example.com"), "+", "")
	password := "Lookup-Secret-" + login

	// The first login is taken: the next one is used.
	res := lookupCreate(t, wp, contactID, email, password, env.Username, login)
	if res.Found != wordpress.FoundCreated || res.User.Username != login || res.User.State == "" {
		t.Fatalf("first lookup: found %q, login %q, state %q; want created under %q with a state", res.Found, res.User.Username, res.User.State, login)
	}
	u := res.User
	if !slices.Equal(u.Roles, []string{"customer"}) || u.MetaString("activecampaign_contact_id") != contactID ||
		!slices.Equal(u.MetaStrings("activecampaign_tags"), []string{"VIP"}) || u.FirstName != "Lou" {
		t.Errorf("created user %+v", u)
	}
	if !env.CheckPassword(t, login, password) {
		t.Error("the password of the create does not log in")
	}
	if mails := env.MailsTo(t, email); len(mails) != 1 {
		t.Errorf("%d mails to the new user, want the one new-user email", len(mails))
	}

	again := lookupCreate(t, wp, contactID, email, password, login+"x")
	if again.Found != wordpress.FoundMeta || again.User.ID != u.ID || again.User.State != u.State {
		t.Errorf("same lookup again: found %q user %d; want user %d by contact id, unchanged", again.Found, again.User.ID, u.ID)
	}
	if mails := env.MailsTo(t, email); len(mails) != 1 {
		t.Errorf("%d mails after the retry, want still 1", len(mails))
	}

	other := "lk-other-" + contactID
	for _, tc := range []struct {
		password string
		match    bool
	}{{password, true}, {password + "x", false}} {
		byEmail, err := wp.Users.Lookup(t.Context(), wordpress.LookupRequest{Key: "activecampaign_contact_id", Value: other,
			Email: strings.ToUpper(email[:1]) + email[1:], Password: tc.password})
		if err != nil || byEmail.Found != wordpress.FoundEmail || byEmail.User.ID != u.ID || byEmail.PasswordMatch != tc.match {
			t.Errorf("lookup by email: %+v, %v; want user %d by email, password match %v", byEmail, err, u.ID, tc.match)
		}
	}
	none, err := wp.Users.Lookup(t.Context(), wordpress.LookupRequest{Key: "activecampaign_contact_id", Value: other, Email: "x" + email})
	if err != nil || none.Found != wordpress.FoundNone || none.User != nil {
		t.Errorf("lookup of nobody: %+v, %v; want none", none, err)
	}
}

// TestLookup_KeepsTheRules: a create through the lookup passes the users
// endpoint's checks and the plugin's: a protected meta key, a privileged
// role and a taken email are refused and nothing is created; a protected
// key cannot be looked up by.
func TestLookup_KeepsTheRules(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	wp := env.Client(t)
	taken := wptest.UniqueEmail(t, "lookup-taken")
	newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": taken}, Roles: []string{"subscriber"}})
	tests := []struct {
		name  string
		edit  func(*wordpress.LookupRequest)
		check func(error) bool
	}{
		{"protected meta", func(r *wordpress.LookupRequest) { r.Create.Meta = map[string]any{"wp_capabilities": "x"} },
			func(err error) bool { return errors.Is(err, wordpress.ErrInvalid) }},
		{"privileged role", func(r *wordpress.LookupRequest) { r.Create.Roles = []string{"administrator"} },
			func(err error) bool {
				return errors.Is(err, wordpress.ErrForbidden) && strings.Contains(err.Error(), "wpbridge_privileged_role")
			}},
		{"email taken", func(r *wordpress.LookupRequest) { r.Email = ""; r.Create.Fields["email"] = taken },
			func(err error) bool { return errors.Is(err, wordpress.ErrExistingEmail) }},
		{"protected lookup key", func(r *wordpress.LookupRequest) { r.Key = "wp_capabilities" },
			func(err error) bool { return errors.Is(err, wordpress.ErrInvalid) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			email := wptest.UniqueEmail(t, "lookup-rule")
			login := strings.ReplaceAll(strings.TrimSuffix(email, "@example.com"), "+", "")
			req := wordpress.LookupRequest{Key: "activecampaign_contact_id", Value: "lr-" + login, Email: email, Logins: []string{login},
				Create: &wordpress.UserRequest{Fields: map[string]string{"email": email, "password": "Rule-Secret-" + login},
					Roles: []string{"subscriber"}, Meta: map[string]any{"activecampaign_contact_id": "lr-" + login}}}
			tc.edit(&req)
			res, err := wp.Users.Lookup(t.Context(), req)
			if res != nil && res.User != nil {
				id := res.User.ID
				t.Cleanup(func() { _ = wp.Users.Delete(context.Background(), id, 0) })
			}
			if !tc.check(err) {
				t.Errorf("lookup: %+v, %v; want it refused", res, err)
			}
			if strings.Contains(errString(err), "Rule-Secret-") {
				t.Errorf("error carries the password: %v", err)
			}
			if _, err := wp.Users.FindByEmail(t.Context(), email); !errors.Is(err, wordpress.ErrNotFound) {
				t.Errorf("a user with %s exists after a refused create (%v)", email, err)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestUpdate_IfState: an update carrying the state it was computed from is
// made while the user is unchanged, and refused with ErrStale (nothing
// written) once anything wpbridge reads of the user has changed; the
// answer's state is the user's new one.
func TestUpdate_IfState(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	wp := env.Client(t)
	ctx := t.Context()
	email := wptest.UniqueEmail(t, "ifstate")
	u := newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": email, "first_name": "Ida"},
		Roles: []string{"subscriber"}, Meta: map[string]any{"ifstate_tag": "a"}})
	if u.State == "" {
		t.Fatal("the created user has no wpbridge_state")
	}
	got, err := wp.Users.Update(ctx, u.ID, wordpress.UserRequest{Fields: map[string]string{"last_name": "Ink"}, IfState: u.State})
	if err != nil || got.LastName != "Ink" || got.State == u.State {
		t.Fatalf("update with the current state: %v, last name %q; want it made, with a new state", err, got.LastName)
	}
	// Changes made elsewhere: meta, a role, a core field.
	changes := []wordpress.UserRequest{
		{Meta: map[string]any{"ifstate_tag": "b"}},
		{Roles: []string{"customer"}},
		{Fields: map[string]string{"nickname": "idi"}},
	}
	for _, elsewhere := range changes {
		before, err := wp.Users.Get(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := wp.Users.Update(ctx, u.ID, elsewhere); err != nil {
			t.Fatal(err)
		}
		_, err = wp.Users.Update(ctx, u.ID, wordpress.UserRequest{Fields: map[string]string{"first_name": "Stale"}, IfState: before.State})
		if !errors.Is(err, wordpress.ErrStale) {
			t.Errorf("update computed before %+v: %v, want ErrStale", elsewhere, err)
		}
		if now, _ := wp.Users.Get(ctx, u.ID); now == nil || now.FirstName != "Ida" {
			t.Errorf("a stale update was written: %+v", now)
		}
	}
}

// TestLookup_UpdateOfShape: a lookup carrying an update writes it to the
// user found by contact id in the same request, through the users endpoint
// (its actions fire, its checks hold), only while the user has the shape
// given; otherwise it writes nothing and answers the user as found. A user
// found by email is written only when asked (update_by any).
func TestLookup_UpdateOfShape(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	wp := env.Client(t)
	subscriber := &wordpress.Shape{Roles: []string{"subscriber"}, Caps: map[string]bool{"subscriber": true},
		MetaAbsent: []string{"wpbridge_access_removed"}}
	taken := wptest.UniqueEmail(t, "shape-taken")
	newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": taken}, Roles: []string{"subscriber"}})
	tests := []struct {
		name    string
		user    wordpress.UserRequest // the user as it is (its email and contact id are set below)
		linked  bool                  // the user holds the contact id
		byEmail bool                  // update_by any
		update  wordpress.UserRequest
		written bool
		err     error
	}{
		{name: "subscriber", user: wordpress.UserRequest{Roles: []string{"subscriber"}, Fields: map[string]string{"first_name": "Old"}},
			linked: true, update: wordpress.UserRequest{Fields: map[string]string{"first_name": "New"}, Meta: map[string]any{"activecampaign_tags": []string{"Gold"}}},
			written: true},
		{name: "customer", user: wordpress.UserRequest{Roles: []string{"customer"}}, linked: true,
			update: wordpress.UserRequest{Fields: map[string]string{"first_name": "New"}}},
		{name: "two roles", user: wordpress.UserRequest{Roles: []string{"subscriber", "customer"}}, linked: true,
			update: wordpress.UserRequest{Fields: map[string]string{"first_name": "New"}}},
		{name: "access removed", user: wordpress.UserRequest{Roles: []string{"subscriber"}, Meta: map[string]any{"wpbridge_access_removed": "1"}},
			linked: true, update: wordpress.UserRequest{Fields: map[string]string{"first_name": "New"}}},
		{name: "by email, not asked", user: wordpress.UserRequest{Roles: []string{"subscriber"}},
			update: wordpress.UserRequest{Fields: map[string]string{"first_name": "New"}}},
		{name: "by email, asked", user: wordpress.UserRequest{Roles: []string{"subscriber"}}, byEmail: true,
			update: wordpress.UserRequest{Fields: map[string]string{"first_name": "New"}}, written: true},
		{name: "email taken", user: wordpress.UserRequest{Roles: []string{"subscriber"}}, linked: true,
			update: wordpress.UserRequest{Fields: map[string]string{"email": taken, "first_name": "New"}}, err: wordpress.ErrInvalid}, // as an update answers it
		{name: "privileged role", user: wordpress.UserRequest{Roles: []string{"subscriber"}}, linked: true,
			update: wordpress.UserRequest{Roles: []string{"administrator"}, Fields: map[string]string{"first_name": "New"}}, err: wordpress.ErrForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			email := wptest.UniqueEmail(t, "shape")
			contactID := "sh-" + strings.TrimSuffix(email, "@example.com")
			tc.user.Fields = withField(tc.user.Fields, "email", email)
			if tc.linked {
				tc.user.Meta = withMeta(tc.user.Meta, "activecampaign_contact_id", contactID)
			}
			u := newUser(t, wp, tc.user)
			res, err := wp.Users.Lookup(t.Context(), wordpress.LookupRequest{Key: "activecampaign_contact_id", Value: contactID,
				Email: email, Update: &tc.update, UpdateByEmail: tc.byEmail, IfShape: subscriber})
			now, gerr := wp.Users.Get(t.Context(), u.ID)
			if gerr != nil {
				t.Fatal(gerr)
			}
			if tc.err != nil {
				if !errors.Is(err, tc.err) || now.FirstName == "New" {
					t.Errorf("lookup: %v, first name %q; want %v and nothing written", err, now.FirstName, tc.err)
				}
				return
			}
			if err != nil || res.User == nil || res.User.ID != u.ID || res.Written != tc.written {
				t.Fatalf("lookup: %+v, %v; want user %d, written %v", res, err, u.ID, tc.written)
			}
			if tc.written != (now.FirstName == "New") {
				t.Errorf("first name now %q, written %v", now.FirstName, tc.written)
			}
			if !tc.written {
				if res.Before != nil || res.User.State != u.State {
					t.Errorf("not written: before %+v, state %q (was %q); want no before, the user as found", res.Before, res.User.State, u.State)
				}
				return
			}
			if res.Before.ID != u.ID || res.Before.State != u.State || res.Before.FirstName == "New" || res.User.State != now.State ||
				res.User.FirstName != "New" {
				t.Errorf("written: before %+v, after %+v; want the user as found, then as now", res.Before, res.User)
			}
		})
	}
}

func withField(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

func withMeta(m map[string]any, k string, v any) map[string]any {
	if m == nil {
		m = map[string]any{}
	}
	m[k] = v
	return m
}
