package wordpress_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

// asUser sends a request to a REST route as login/appPassword and returns the
// status and the decoded answer.
func asUser(t *testing.T, env wptest.Site, login, appPassword, method, route string, body map[string]any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	u, err := url.Parse(env.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"rest_route": {route}, "context": {"edit"}}
	if method == http.MethodGet {
		for k, v := range body {
			q.Set(k, v.(string))
		}
		r = nil
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(t.Context(), method, u.String(), r)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(login, appPassword)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, route, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// TestPlugin_ShopManager: every route and field of the companion plugin needs
// what wpbridge's own user has (create_users, edit_users, list_users,
// promote_users) and edit_user on each user it answers, checks or changes. A
// WooCommerce-like shop manager (list_users and edit_users, edit_user limited
// to customers by map_meta_cap: scripts/wp/wpbridge-test-shop-manager.php)
// gets 403 from lookup, by-meta, password-check and reset-key and neither
// reads nor writes wpbridge_meta and wpbridge_state, even of a customer; a
// user with all four capabilities but edit_user limited the same way gets
// 403 for a member it may not edit.
func TestPlugin_ShopManager(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	wp := env.Client(t)
	key := wptest.UniqueSlug("wpbridge_test_cid")
	customerEmail := wptest.UniqueEmail(t, "shop-customer")
	memberEmail := wptest.UniqueEmail(t, "shop-member")
	password := "Pw-" + customerEmail[:14]
	customer := newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": customerEmail, "password": password},
		Roles: []string{"customer"}, Meta: map[string]any{key: "c-" + customerEmail}})
	member := newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": memberEmail, "password": password},
		Roles: []string{"subscriber"}, Meta: map[string]any{key: "m-" + memberEmail}})

	// signIn makes a user holding a fresh role slug (shopmgr_...) with caps.
	signIn := func(caps ...string) (login, pass string) {
		slug := wptest.UniqueSlug("shopmgr")
		env.AddRole(t, slug, caps...)
		email := wptest.UniqueEmail(t, "shop-manager")
		u := newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": email}, Roles: []string{"subscriber"}})
		env.SetCapabilities(t, u.ID, slug) // the plugin refuses to hand out a role with edit_users
		return u.Username, env.NewAppPassword(t, u.ID)
	}
	id := func(u *wordpress.User) string { return strconv.FormatInt(u.ID, 10) }

	t.Run("list_users and edit_users only", func(t *testing.T) {
		login, pass := signIn("list_users", "edit_users")
		for _, target := range []*wordpress.User{customer, member} {
			value := target.MetaString(key)
			routes := []struct {
				name, method, route string
				body                map[string]any
			}{
				{"lookup", http.MethodPost, "/wpbridge/v1/users/lookup", map[string]any{"key": key, "value": value}},
				{"lookup by email", http.MethodPost, "/wpbridge/v1/users/lookup", map[string]any{"key": key, "value": "none", "email": target.Email, "password": password}},
				{"by-meta", http.MethodGet, "/wpbridge/v1/users/by-meta", map[string]any{"key": key, "value": value}},
				{"password-check", http.MethodPost, "/wpbridge/v1/users/" + id(target) + "/password-check", map[string]any{"password": password}},
				{"reset-key", http.MethodPost, "/wpbridge/v1/users/" + id(target) + "/reset-key", map[string]any{}},
				{"write wpbridge_meta", http.MethodPost, "/wp/v2/users/" + id(target), map[string]any{"wpbridge_meta": map[string]any{key: "hijacked"}}},
				{"fire wpbridge_hooks", http.MethodPost, "/wp/v2/users/" + id(target), map[string]any{"nickname": "x", "wpbridge_hooks": map[string]any{"action": "update", "contact_id": "1"}}},
			}
			for _, r := range routes {
				if status, out := asUser(t, env, login, pass, r.method, r.route, r.body); status != http.StatusForbidden {
					t.Errorf("%s of user %s (%s): %d %v, want 403", r.name, id(target), target.Roles, status, out["code"])
				}
			}
			status, out := asUser(t, env, login, pass, http.MethodGet, "/wp/v2/users/"+id(target), nil)
			if status == http.StatusOK && (out["wpbridge_meta"] != nil || out["wpbridge_state"] != nil) {
				t.Errorf("user %s read: wpbridge_meta %v, wpbridge_state %v; want both null", id(target), out["wpbridge_meta"] != nil, out["wpbridge_state"] != nil)
			}
		}
		got, err := wp.Users.Get(t.Context(), customer.ID)
		if err != nil || got.MetaString(key) != "c-"+customerEmail {
			t.Errorf("customer's contact link after the refused write: %q, %v", got.MetaString(key), err)
		}
	})

	t.Run("all four but edit_user limited to customers", func(t *testing.T) {
		login, pass := signIn("create_users", "edit_users", "list_users", "promote_users")
		status, out := asUser(t, env, login, pass, http.MethodPost, "/wpbridge/v1/users/lookup", map[string]any{"key": key, "value": customer.MetaString(key)})
		if status != http.StatusOK || out["found"] != "meta" {
			t.Errorf("lookup of a customer it may edit: %d %v, want 200 found by meta", status, out["code"])
		}
		for name, body := range map[string]map[string]any{
			"lookup by contact id": {"key": key, "value": member.MetaString(key)},
			"lookup by email":      {"key": key, "value": "none", "email": memberEmail, "password": password},
		} {
			if status, out := asUser(t, env, login, pass, http.MethodPost, "/wpbridge/v1/users/lookup", body); status != http.StatusForbidden {
				t.Errorf("%s of a member it may not edit: %d %v, want 403", name, status, out["code"])
			}
		}
		if status, out := asUser(t, env, login, pass, http.MethodGet, "/wpbridge/v1/users/by-meta", map[string]any{"key": key, "value": member.MetaString(key)}); status != http.StatusForbidden {
			t.Errorf("by-meta of a member it may not edit: %d %v, want 403", status, out["code"])
		}
		if status, out := asUser(t, env, login, pass, http.MethodPost, "/wpbridge/v1/users/"+id(member)+"/reset-key", map[string]any{}); status != http.StatusForbidden {
			t.Errorf("reset-key of a member it may not edit: %d %v, want 403", status, out["code"])
		}
	})
}
