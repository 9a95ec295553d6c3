package wordpress_test

import (
	"errors"
	"net/http"
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

// pluginAdminCaps reads the companion plugin's ADMIN_CAPS from its source.
func pluginAdminCaps(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("plugin/wpbridge.php")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)\bconst ADMIN_CAPS = array\((.*?)\);`).FindAllSubmatch(src, -1)
	if len(m) != 1 {
		t.Fatalf("plugin/wpbridge.php: %d definitions of ADMIN_CAPS, want 1", len(m))
	}
	var caps []string
	for _, q := range regexp.MustCompile(`'([^']*)'|"([^"]*)"|[^\s,]+`).FindAllSubmatch(m[0][1], -1) {
		if q[1] == nil && q[2] == nil {
			t.Fatalf("ADMIN_CAPS holds %q, not a quoted capability", q[0])
		}
		caps = append(caps, string(q[1])+string(q[2]))
	}
	return caps
}

// TestAdminCapabilitiesMatchThePlugin: the Go list of admin-level
// capabilities and the companion plugin's are the same list; a change to
// either alone fails here.
func TestAdminCapabilitiesMatchThePlugin(t *testing.T) {
	php := pluginAdminCaps(t)
	if !slices.Equal(php, wordpress.AdminCapabilities) {
		t.Errorf("the plugin's ADMIN_CAPS differ from wordpress.AdminCapabilities:\nPHP %q\nGo  %q", php, wordpress.AdminCapabilities)
	}
	sorted := slices.Sorted(slices.Values(wordpress.AdminCapabilities))
	if len(slices.Compact(sorted)) != len(wordpress.AdminCapabilities) {
		t.Errorf("AdminCapabilities repeats a capability: %q", wordpress.AdminCapabilities)
	}
	for _, c := range []string{"edit_users", "manage_options", "install_plugins", "edit_files", "update_core", "export"} {
		if !slices.Contains(wordpress.AdminCapabilities, c) {
			t.Errorf("AdminCapabilities lacks %s", c)
		}
	}
}

// TestPlugin_EveryAdminCapability: against the real WordPress, each
// capability of the list makes a role admin-level in the status route and a
// subscriber holding it directly a user whose password an application
// password cannot change (403 wpbridge_protected_user).
func TestPlugin_EveryAdminCapability(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	wp := env.Client(t)
	slugs := map[string]string{}
	for _, c := range wordpress.AdminCapabilities {
		slugs[c] = wptest.UniqueSlug("wpbridge_" + c)
		env.AddRole(t, slugs[c], "read", c)
	}
	st, err := wp.Site.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	admin := st.AdminRoles()
	for _, c := range wordpress.AdminCapabilities {
		if got := st.RoleAdminCapabilities[slugs[c]]; !slices.Equal(got, []string{c}) || !admin[slugs[c]] {
			t.Errorf("role holding %s: role_admin_capabilities %v, admin-level %v; want [%s], true", c, got, admin[slugs[c]], c)
		}
	}
	for _, c := range wordpress.AdminCapabilities {
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			email := wptest.UniqueEmail(t, "cap")
			u := newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": email}, Roles: []string{"subscriber"}})
			env.SetCapabilities(t, u.ID, "subscriber", c)
			_, err := wp.Users.Update(t.Context(), u.ID, wordpress.UserRequest{Fields: map[string]string{"password": "New-Pass-" + email[:14]}})
			var we *wordpress.Error
			if !errors.As(err, &we) || we.StatusCode != http.StatusForbidden || we.Code != "wpbridge_protected_user" {
				t.Errorf("password of a subscriber with %s: err = %v, want 403 wpbridge_protected_user", c, err)
			}
		})
	}
}
