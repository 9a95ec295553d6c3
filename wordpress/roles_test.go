package wordpress_test

// Capabilities of users and roles, and the plugin's refusal to hand out a
// role that can manage the site, against the real WordPress.

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

// TestIntegration_UserCapabilities: a user's own capability entries and all
// its capabilities come with every read, and a capability granted directly
// (beyond the user's roles) is told apart from the roles.
func TestIntegration_UserCapabilities(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	wp := env.Client(t)
	ctx := t.Context()
	plain := newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": wptest.UniqueEmail(t, "caps-plain")},
		Roles: []string{"subscriber"}, Meta: map[string]any{"caps_test": "plain"}})
	granted := newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": wptest.UniqueEmail(t, "caps-granted")},
		Roles: []string{"subscriber"}, Meta: map[string]any{"caps_test": "granted"}})
	env.SetCapabilities(t, granted.ID, "subscriber", "manage_options")
	roleless := newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": wptest.UniqueEmail(t, "caps-none")},
		Roles: []string{"subscriber"}})
	env.SetCapabilities(t, roleless.ID)

	if len(plain.ExtraCapabilities) != 1 || !plain.ExtraCapabilities["subscriber"] || len(plain.GrantedCapabilities()) != 0 {
		t.Errorf("plain subscriber on create: extra %v, granted %v", plain.ExtraCapabilities, plain.GrantedCapabilities())
	}
	if !plain.Capabilities["read"] || plain.Capabilities["manage_options"] {
		t.Errorf("plain subscriber's capabilities = %v", plain.Capabilities)
	}
	byID, err := wp.Users.Get(ctx, granted.ID)
	if err != nil {
		t.Fatal(err)
	}
	byEmail, err := wp.Users.FindByEmail(ctx, granted.Email)
	if err != nil {
		t.Fatal(err)
	}
	byMeta, err := wp.Users.FindByMeta(ctx, "caps_test", "granted")
	if err != nil {
		t.Fatal(err)
	}
	for what, u := range map[string]*wordpress.User{"Get": byID, "FindByEmail": byEmail, "FindByMeta": byMeta} {
		if got := u.GrantedCapabilities(); !slices.Equal(got, []string{"manage_options"}) || !slices.Equal(u.Roles, []string{"subscriber"}) {
			t.Errorf("%s: granted %v roles %v, want [manage_options] [subscriber]", what, got, u.Roles)
		}
		if !u.Capabilities["manage_options"] {
			t.Errorf("%s: capabilities lack manage_options: %v", what, u.Capabilities)
		}
	}
	none, err := wp.Users.Get(ctx, roleless.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(none.Roles) != 0 || none.ExtraCapabilities == nil || len(none.ExtraCapabilities) != 0 {
		t.Errorf("user without a role: roles %v, extra %v (want none, reported)", none.Roles, none.ExtraCapabilities)
	}
}

// TestIntegration_StatusRoleCapabilities: the status route lists each role's
// admin-level capabilities.
func TestIntegration_StatusRoleCapabilities(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	wp := env.Client(t)
	slug := wptest.UniqueSlug("wpbridge_boss")
	env.AddRole(t, slug, "manage_options", "edit_posts")
	st, err := wp.Site.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"administrator": wordpress.AdminCapabilities,
		"editor":        {"unfiltered_html"},
		"subscriber":    {},
		"customer":      {},
		slug:            {"manage_options"},
	}
	for role, caps := range want {
		got, ok := st.RoleAdminCapabilities[role]
		if !ok || !slices.Equal(got, caps) {
			t.Errorf("role_admin_capabilities[%s] = %v (listed %v), want %v", role, got, ok, caps)
		}
	}
	p := st.AdminRoles()
	if !p["administrator"] || !p["editor"] || !p[slug] || p["subscriber"] || p["customer"] {
		t.Errorf("AdminRoles = %v", p)
	}
}

// TestPlugin_PrivilegedRoles: through an application password the plugin
// refuses (403 wpbridge_privileged_role, a permanent ErrForbidden that is not
// a credentials rejection) to create a user with, or give a user, a role
// holding an admin-level capability, whatever the case of the route; other
// roles, and roles the user already holds, go through.
func TestPlugin_PrivilegedRoles(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	wp := env.Client(t)
	ctx := t.Context()
	slug := wptest.UniqueSlug("wpbridge_owner")
	env.AddRole(t, slug, "activate_plugins")

	refused := func(what string, err error) {
		t.Helper()
		var we *wordpress.Error
		if !errors.As(err, &we) || we.StatusCode != http.StatusForbidden || we.Code != "wpbridge_privileged_role" {
			t.Errorf("%s: err = %v, want 403 wpbridge_privileged_role", what, err)
			return
		}
		if errors.Is(err, wordpress.ErrUnauthorized) || !errors.Is(err, wordpress.ErrForbidden) || we.Temporary() {
			t.Errorf("%s: err = %v is ErrUnauthorized or temporary; want a permanent ErrForbidden", what, err)
		}
	}
	for _, roles := range [][]string{{"administrator"}, {"editor"}, {slug}, {"subscriber", "editor"}} {
		email := wptest.UniqueEmail(t, "privileged-create")
		_, err := wp.Users.Create(ctx, wordpress.UserRequest{Fields: map[string]string{"username": email, "email": email, "password": "Pw-" + email}, Roles: roles})
		refused(fmt.Sprintf("create with %v", roles), err)
		if u, err := wp.Users.FindByEmail(ctx, email); !errors.Is(err, wordpress.ErrNotFound) {
			t.Errorf("create with %v: user %+v created anyway (%v)", roles, u, err)
			_ = wp.Users.Delete(ctx, u.ID, 0)
		}
	}

	u := newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": wptest.UniqueEmail(t, "privileged-update")}, Roles: []string{"subscriber"}})
	for _, roles := range [][]string{{"administrator"}, {"editor"}, {slug}, {"subscriber", slug}} {
		_, err := wp.Users.Update(ctx, u.ID, wordpress.UserRequest{Roles: roles, Fields: map[string]string{"first_name": "Changed"}})
		refused(fmt.Sprintf("update to %v", roles), err)
	}
	if status, code := rawPost(t, env, fmt.Sprintf("/WP/V2/USERS/%d", u.ID), map[string]any{"roles": []string{"editor"}}); status != 403 || code != "wpbridge_privileged_role" {
		t.Errorf("capitalised route: %d %s, want 403 wpbridge_privileged_role", status, code)
	}
	got, err := wp.Users.Get(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Roles, []string{"subscriber"}) || got.FirstName == "Changed" {
		t.Errorf("user after refused role changes: roles %v, first name %q", got.Roles, got.FirstName)
	}
	if got, err = wp.Users.Update(ctx, u.ID, wordpress.UserRequest{Roles: []string{"customer"}}); err != nil || !slices.Equal(got.Roles, []string{"customer"}) {
		t.Errorf("update to customer: %+v, %v", got, err)
	}

	// A role the user already holds is no assignment.
	ed := newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": wptest.UniqueEmail(t, "privileged-held")}, Roles: []string{"subscriber"}})
	env.SetCapabilities(t, ed.ID, "editor")
	if got, err = wp.Users.Update(ctx, ed.ID, wordpress.UserRequest{Roles: []string{"editor"}, Meta: map[string]any{"activecampaign_tags": []string{"x"}}}); err != nil ||
		!slices.Equal(got.Roles, []string{"editor"}) {
		t.Errorf("editor keeping its role: %+v, %v", got, err)
	}
}

// TestStatus_RoleCapabilitiesDecoding: PHP's encodings of empty lists and
// objects, and an older plugin without the field.
func TestStatus_RoleCapabilitiesDecoding(t *testing.T) {
	tests := []struct {
		name string
		body string
		want map[string]bool // AdminRoles; nil = not reported
	}{
		{"roles", `{"version":"1","role_admin_capabilities":{"editor":["unfiltered_html"],"subscriber":[]}}`, map[string]bool{"editor": true}},
		{"no roles (PHP empty array)", `{"version":"1","role_admin_capabilities":[]}`, map[string]bool{}},
		{"older plugin", `{"version":"1"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(tt.body))
			}))
			defer ts.Close()
			wp, err := wordpress.NewClient(ts.URL, "u", "p")
			if err != nil {
				t.Fatal(err)
			}
			st, err := wp.Site.Status(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			got := st.AdminRoles()
			if (got == nil) != (tt.want == nil) || len(got) != len(tt.want) {
				t.Fatalf("AdminRoles = %v, want %v", got, tt.want)
			}
			for r := range tt.want {
				if !got[r] {
					t.Errorf("AdminRoles = %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// TestUser_CapabilitiesDecoding: capability objects as PHP sends them.
func TestUser_CapabilitiesDecoding(t *testing.T) {
	body := `{"id":7,"roles":["subscriber"],"extra_capabilities":{"subscriber":true,"manage_options":1,"edit_users":"1","denied":false,"zero":"0"},"capabilities":[]}`
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	defer ts.Close()
	wp, err := wordpress.NewClient(ts.URL, "u", "p")
	if err != nil {
		t.Fatal(err)
	}
	u, err := wp.Users.Get(t.Context(), 7)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.GrantedCapabilities(); !slices.Equal(got, []string{"edit_users", "manage_options"}) {
		t.Errorf("GrantedCapabilities = %v", got)
	}
	if u.Capabilities == nil || len(u.Capabilities) != 0 {
		t.Errorf("Capabilities = %v, want empty, not nil", u.Capabilities)
	}
}
