package adapters

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
)

// TestUserFieldsCoverCoreFields: every core FIELD_MAP target but role (which
// travels as Change.Roles) has a WordPress REST field, and nothing else does.
func TestUserFieldsCoverCoreFields(t *testing.T) {
	for _, target := range contactsync.CoreFields {
		if _, ok := userFields[target]; !ok && target != "role" {
			t.Errorf("core field %s has no WordPress REST field in userFields", target)
		}
	}
	for target := range userFields {
		if !contactsync.IsCoreField(target) || target == "role" {
			t.Errorf("userFields maps %s, which is no core field written as a field", target)
		}
	}
}

// coreValues gives every core field in userFields but the login a distinct value.
func coreValues(email, suffix string) map[string]string {
	return map[string]string{
		"user_email": email, "user_pass": "Pw-Round-Trip-" + suffix,
		"first_name": "Ann" + suffix, "last_name": "Lee" + suffix, "display_name": "Ann Lee " + suffix,
		"nickname": "annie" + suffix, "description": "About Ann " + suffix, "user_url": "https://ann" + suffix + ".example.com",
	}
}

// checkRead compares the core fields read back with the written ones. The
// password is never part of an answer.
func checkRead(t *testing.T, u *contactsync.User, login string, want map[string]string) {
	t.Helper()
	if u.Login != login || u.Fields["user_login"] != login {
		t.Errorf("login %q, Fields[user_login] %q, want %q", u.Login, u.Fields["user_login"], login)
	}
	if u.Email != want["user_email"] {
		t.Errorf("Email %q, want %q", u.Email, want["user_email"])
	}
	for target, v := range want {
		if target == "user_pass" {
			if _, ok := u.Fields[target]; ok {
				t.Errorf("a password was read back")
			}
			continue
		}
		if u.Fields[target] != v {
			t.Errorf("Fields[%s] = %q, want %q", target, u.Fields[target], v)
		}
	}
}

// wpUserFields are the string fields of WordPress's users endpoint (the
// /wp/v2/users schema); "password" is write-only.
var wpUserFields = []string{"username", "name", "first_name", "last_name", "email", "url", "description",
	"nickname", "slug", "locale", "password"}

// TestUserFieldsRoundTrip writes every core field through the adapter to a
// WordPress fake that keeps the fields WordPress knows and answers with them,
// then reads the user back.
func TestUserFieldsRoundTrip(t *testing.T) {
	ctx := context.Background()
	stored := map[string]any{"id": 5}
	var f *wpFake
	// written is the users-endpoint body of the last write; a lookup's
	// create gets its first login as the username, as the plugin does.
	written := func() map[string]any {
		b := f.bodies[len(f.bodies)-1]
		create, ok := b["create"].(map[string]any)
		if !ok {
			return b
		}
		create["username"] = b["logins"].([]any)[0]
		return create
	}
	save := func(wrap bool) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, _ *http.Request) {
			for k, v := range written() {
				// WordPress ignores unknown fields and never answers with the password.
				if slices.Contains(wpUserFields, k) && k != "password" {
					stored[k] = v
				}
			}
			if wrap {
				wpJSON(w, http.StatusOK, map[string]any{"found": "created", "user": stored})
				return
			}
			wpJSON(w, http.StatusOK, stored)
		}
	}
	users, f := newUsers(t, map[string]func(http.ResponseWriter, *http.Request){
		"POST /wpbridge/v1/users/lookup": save(true),
		"POST /wp/v2/users/5":            save(false),
		"GET /wpbridge/v1/users/by-meta": func(w http.ResponseWriter, _ *http.Request) { wpJSON(w, http.StatusOK, stored) },
	})

	for i, want := range []map[string]string{coreValues("ann@example.com", "1"), coreValues("ann2@example.com", "2")} {
		var err error
		if i == 0 {
			_, err = users.Lookup(ctx, contactsync.Lookup{Key: "activecampaign_contact_id", ContactID: "7",
				Create: &contactsync.NewUser{Change: contactsync.Change{Fields: want}}, Logins: []string{"ann.lee"}})
		} else {
			_, err = users.Update(ctx, &contactsync.User{ID: 5}, contactsync.Change{Fields: want})
		}
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		sent := written()
		for target, v := range want {
			if sent[userFields[target]] != v {
				t.Errorf("write %d: body[%s] = %v, want %q", i, userFields[target], sent[userFields[target]], v)
			}
		}
		if wantLogin := i == 0; (sent["username"] == "ann.lee") != wantLogin {
			t.Errorf("write %d: body username %v", i, sent["username"])
		}
		u, err := users.FindByMeta(ctx, "activecampaign_contact_id", "7")
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		checkRead(t, u, "ann.lee", want)
	}
}

// TestUsersUnknownField: a field the table does not know is refused, not dropped.
func TestUsersUnknownField(t *testing.T) {
	users, f := newUsers(t, nil)
	_, err := users.Update(context.Background(), &contactsync.User{ID: 5}, contactsync.Change{Fields: map[string]string{"role": "editor"}})
	if !errors.Is(err, contactsync.ErrPermanent) || len(f.bodies) != 0 {
		t.Errorf("err %v after %d requests, want a permanent error before any request", err, len(f.bodies))
	}
}

// TestUsersRoundTripRealWordPress writes every core field to the real
// WordPress, reads it back and logs in with the password.
func TestUsersRoundTripRealWordPress(t *testing.T) {
	env := wptest.Env(t)
	wp := env.Client(t)
	users := &Users{WP: wp}
	ctx := t.Context()
	email := wptest.UniqueEmail(t, "adapters-fields")
	login := contactsync.SanitizeLogin(email)

	want := coreValues(email, "1")
	found, err := users.Lookup(ctx, contactsync.Lookup{Key: "adapters_fields_test", ContactID: email, Logins: []string{login},
		Create: &contactsync.NewUser{Change: contactsync.Change{Fields: want, Roles: []string{"subscriber"}, Meta: map[string]any{"adapters_fields_test": email}}}})
	if err != nil || found.By != contactsync.FoundCreated {
		t.Fatalf("Lookup: %v, found by %v, want created", err, found.By)
	}
	u := found.User
	t.Cleanup(func() {
		if err := wp.Users.Delete(context.Background(), u.ID, 0); err != nil {
			t.Errorf("delete user %d: %v", u.ID, err)
		}
	})
	for i, w := range []map[string]string{want, coreValues(email, "2")} {
		if i > 0 {
			if _, err := users.Update(ctx, u, contactsync.Change{Fields: w}); err != nil {
				t.Fatalf("Update: %v", err)
			}
		}
		byEmail, err := users.FindByEmail(ctx, email)
		if err != nil {
			t.Fatalf("FindByEmail: %v", err)
		}
		byMeta, err := users.FindByMeta(ctx, "adapters_fields_test", email)
		if err != nil {
			t.Fatalf("FindByMeta: %v", err)
		}
		for _, got := range []*contactsync.User{byEmail, byMeta} {
			if got.ID != u.ID || !slices.Equal(got.Roles, []string{"subscriber"}) {
				t.Errorf("user %d roles %v, want %d [subscriber]", got.ID, got.Roles, u.ID)
			}
			checkRead(t, got, login, w)
		}
		if !env.CheckPassword(t, login, w["user_pass"]) {
			t.Errorf("write %d: cannot log in with the written password", i)
		}
	}
}

// TestUsersDeleteGuardedRealWordPress: remove_access's delete carries the
// state the user was checked in (wpbridge_if_state), and the companion plugin
// refuses to delete a user who can manage the site: an administrator
// promoted between wpbridge's check and its delete is not deleted, with or
// without that state. A user still as read is deleted.
func TestUsersDeleteGuardedRealWordPress(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	wp := env.Client(t)
	users := &Users{WP: wp}
	ctx := t.Context()
	me, err := users.Self(ctx)
	if err != nil {
		t.Fatal(err)
	}
	create := func(name string) *contactsync.User {
		email := wptest.UniqueEmail(t, name)
		found, err := users.Lookup(ctx, contactsync.Lookup{Key: "adapters_delete_test", ContactID: email, Logins: []string{contactsync.SanitizeLogin(email)},
			Create: &contactsync.NewUser{Change: contactsync.Change{Fields: map[string]string{"user_email": email, "user_pass": "Pw-" + email},
				Roles: []string{"subscriber"}, Meta: map[string]any{"adapters_delete_test": email}}}})
		if err != nil || found.By != contactsync.FoundCreated || found.User.State == "" {
			t.Fatalf("Lookup: %v, found by %v (state %q), want created", err, found.By, found.User.State)
		}
		t.Cleanup(func() { _ = wp.Users.Delete(context.Background(), found.User.ID, 0) })
		return found.User
	}

	promoted := create("delete-promoted")
	env.SetCapabilities(t, promoted.ID, "administrator") // between the check and the delete
	if _, err := users.Delete(ctx, promoted, me.ID, "c1"); !errors.Is(err, contactsync.ErrStale) {
		t.Errorf("delete with the state read before the promotion: %v, want ErrStale", err)
	}
	now, err := wp.Users.Get(ctx, promoted.ID)
	if err != nil {
		t.Fatalf("the promoted administrator is gone: %v", err)
	}
	fresh := *promoted
	fresh.State = now.State
	for what, u := range map[string]*contactsync.User{"its current state": &fresh, "no state": {ID: promoted.ID}} {
		if _, err := users.Delete(ctx, u, me.ID, "c1"); err == nil || errors.Is(err, contactsync.ErrStale) {
			t.Errorf("delete of an administrator with %s: %v, want refused (403 wpbridge_protected_user)", what, err)
		}
	}
	if _, err := wp.Users.Get(ctx, promoted.ID); err != nil {
		t.Errorf("the promoted administrator is gone: %v", err)
	}

	plain := create("delete-plain")
	if _, err := users.Delete(ctx, plain, me.ID, "c2"); err != nil {
		t.Errorf("delete of a subscriber as read: %v", err)
	}
}
