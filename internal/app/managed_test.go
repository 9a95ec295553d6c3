package app_test

// Managed users and privileged roles end to end: the real WordPress with the
// companion plugin, a fake AC, webhooks through the HTTP endpoint.

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wpbridge/wpbridge/internal/app"
	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

// managedCase is an existing WordPress user linked to its own AC contact,
// whose contact now carries a new email, first name and password.
type managedCase struct {
	name    string
	caps    []string // the user's own capability entries (roles and grants); nil: plain subscriber
	managed bool
	user    *wordpress.User
	contact string
	oldPass string
}

// TestManagedUsers: an update for a user with a capability granted directly
// (subscriber + manage_options) or without any role writes its tags and
// meta only: email, first name, password and role stay as they are, with a
// warning naming why. A plain subscriber gets every change.
func TestManagedUsers(t *testing.T) {
	ac, passID := newAC(t, 5)
	newPass := ac.AddField("New password", "NEW_PASS", "text")
	b := startBridgeWith(t, setup{AC: ac, PassID: passID, Env: map[string]string{
		"FIELD_MAP":    "user_pass=%NEW_PASS%,user_email=email,first_name=firstName",
		"SYNC_TIMEOUT": "30s", // answers with the result even on a loaded machine
	}})
	ctx := context.Background()
	cases := []*managedCase{
		{name: "granted", caps: []string{"subscriber", "manage_options"}},
		{name: "roleless", caps: []string{}},
		{name: "plain", managed: true},
	}
	base := reserveContactIDs(len(cases))
	for i, c := range cases {
		email := wptest.UniqueEmail(t, "managed-"+c.name)
		c.contact = strconv.FormatInt(base+int64(i), 10)
		c.oldPass = "Old-Pass-" + c.contact
		u, err := b.WP.Users.Create(ctx, wordpress.UserRequest{
			Fields: map[string]string{"username": strings.Split(email, "@")[0], "email": email, "password": c.oldPass, "first_name": "Orig"},
			Roles:  []string{"subscriber"}, Meta: map[string]any{"activecampaign_contact_id": c.contact}})
		if err != nil {
			t.Fatal(err)
		}
		c.user = u
		t.Cleanup(func() { deleteUsers(t, b.WP, []int64{u.ID}) })
		if c.caps != nil {
			b.Site.SetCapabilities(t, u.ID, c.caps...)
		}
		b.addContact(acfake.Contact{ID: c.contact, Email: "new-" + email, FirstName: "Changed",
			Fields: map[string]string{newPass: "New-Pass-" + c.contact}})
	}
	for _, c := range cases {
		r := b.post("/", hook("update", "role", "customer"), contactBody(c.contact, c.user.Email, "Gold", "Silver"))
		if r.Status != "done" || r.UserID != c.user.ID {
			t.Errorf("%s: update = %d %q %q user %d, want done for user %d", c.name, r.Code, r.Status, r.Message, r.UserID, c.user.ID)
			continue
		}
		got := b.user(c.user.ID)
		if tags := got.MetaStrings("activecampaign_tags"); !slices.Equal(tags, []string{"Gold", "Silver"}) {
			t.Errorf("%s: tags = %q, want [Gold Silver]", c.name, tags)
		}
		if c.managed {
			if got.Email != "new-"+c.user.Email || got.FirstName != "Changed" || !slices.Equal(got.Roles, []string{"customer"}) ||
				!b.Site.CheckPassword(t, got.Username, "New-Pass-"+c.contact) {
				t.Errorf("%s: managed user not updated: email %q, first name %q, roles %v (or the new password does not log in)",
					c.name, got.Email, got.FirstName, got.Roles)
			}
			continue
		}
		wantRoles := slices.DeleteFunc(slices.Clone(c.caps), func(s string) bool { return s == "manage_options" })
		if got.Email != c.user.Email || got.FirstName != "Orig" || !slices.Equal(got.Roles, wantRoles) {
			t.Errorf("%s: unmanaged user changed: email %q, first name %q, roles %v (want %v)", c.name, got.Email, got.FirstName, got.Roles, wantRoles)
		}
		if !b.Site.CheckPassword(t, got.Username, c.oldPass) {
			t.Errorf("%s: the old password no longer logs in", c.name)
		}
		if !strings.Contains(b.Logs.String(), fmt.Sprintf("user %d is not managed by wpbridge", c.user.ID)) {
			t.Errorf("%s: no warning saying why the user is not managed", c.name)
		}
	}
}

// TestPrivilegedRolesNeverAssigned: with editor and a custom role holding
// manage_options (wrongly) in ALLOWED_ROLES, an add asking for either creates
// a subscriber with a warning, and an update does not apply it.
func TestPrivilegedRolesNeverAssigned(t *testing.T) {
	site := wptest.Env(t)
	boss := wptest.UniqueSlug("e2e_boss")
	site.AddRole(t, boss, "manage_options")
	b := startBridge(t, map[string]string{"ALLOWED_ROLES": "subscriber,customer,editor," + boss, "SYNC_TIMEOUT": "30s"}, app.Options{})
	for _, role := range []string{"editor", boss} {
		email := wptest.UniqueEmail(t, "privileged-add")
		id := b.addContact(acfake.Contact{Email: email})
		r := b.post("/", hook("add", "role", role), contactBody(id, email))
		t.Cleanup(func() { b.deleteUserByEmail(email) }) // also when the add was late
		if r.Status != "done" || r.UserID == 0 {
			t.Fatalf("add with role %s = %d %q %q", role, r.Code, r.Status, r.Message)
		}
		if got := b.user(r.UserID).Roles; !slices.Equal(got, []string{"subscriber"}) {
			t.Errorf("add with role %s: roles %v, want [subscriber]", role, got)
		}
		if !strings.Contains(b.Logs.String(), fmt.Sprintf(`role \"%s\" holds an admin-level capability in WordPress, using \"subscriber\"`, role)) {
			t.Errorf("add with role %s: no warning", role)
		}

		r = b.post("/", hook("update", "role", role), contactBody(id, email))
		if r.Status != "done" {
			t.Fatalf("update with role %s = %d %q %q", role, r.Code, r.Status, r.Message)
		}
		if got := b.user(r.UserID).Roles; !slices.Equal(got, []string{"subscriber"}) {
			t.Errorf("update with role %s: roles %v, want [subscriber]", role, got)
		}
		if !strings.Contains(b.Logs.String(), fmt.Sprintf(`role \"%s\" holds an admin-level capability in WordPress, not applied`, role)) {
			t.Errorf("update with role %s: no warning", role)
		}
	}
}
