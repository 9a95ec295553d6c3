package wordpress_test

// Hostile cases for the companion plugin against the real WordPress (skipped
// when it is not running, like integration_test.go).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

// rawPost sends body to a REST route spelled exactly as given, with the
// administrator's application password, and returns the status and error code.
func rawPost(t *testing.T, env wptest.Site, route string, body map[string]any) (int, string) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"rest_route": {route}, "context": {"edit"}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, env.URL+"/?"+q.Encode(), bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(env.Username, env.AppPassword)
	req.Header.Set("Content-Type", "application/json")
	return doRaw(t, http.DefaultClient, req)
}

func doRaw(t *testing.T, hc *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Query().Get("rest_route"), err)
	}
	defer resp.Body.Close()
	var we struct {
		Code string `json:"code"`
	}
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &we)
	return resp.StatusCode, we.Code
}

// TestPlugin_ProtectedUsers: through an application password, the plugin
// refuses role, password and email changes of any user who can manage the
// site (by role or by a directly granted capability) with 403
// wpbridge_protected_user, which fails that request only (not
// ErrUnauthorized). Tags, meta and names still go through; a plain
// subscriber stays changeable.
func TestPlugin_ProtectedUsers(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	wp := env.Client(t)
	targets := []struct {
		name  string
		roles []string
		grant string // capability granted directly
	}{
		{"subscriber with manage_options", []string{"subscriber"}, "manage_options"},
		{"subscriber with promote_users", []string{"subscriber"}, "promote_users"},
		{"editor", []string{"editor"}, ""},
		{"administrator", []string{"administrator"}, ""},
	}
	for _, tt := range targets {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			email := wptest.UniqueEmail(t, "powerful")
			password := "Orig-Pass-" + email[:14]
			// Through an application password the plugin refuses to hand out
			// editor or administrator: the roles are written in the database.
			u := newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": email, "password": password}, Roles: []string{"subscriber"}})
			caps := slices.Clone(tt.roles)
			if tt.grant != "" {
				caps = append(caps, tt.grant)
			}
			env.SetCapabilities(t, u.ID, caps...)
			changes := map[string]wordpress.UserRequest{
				"role":           {Roles: []string{"customer"}},
				"no role":        {Roles: []string{}},
				"extra role":     {Roles: append(slices.Clone(tt.roles), "customer")},
				"password":       {Fields: map[string]string{"password": "New-Pass-" + email[:14]}},
				"email":          {Fields: map[string]string{"email": "new-" + email}},
				"email and tags": {Fields: map[string]string{"email": "new-" + email}, Meta: map[string]any{"activecampaign_tags": []string{"x"}}},
			}
			for what, req := range changes {
				_, err := wp.Users.Update(ctx, u.ID, req)
				var we *wordpress.Error
				if !errors.As(err, &we) || we.StatusCode != http.StatusForbidden || we.Code != "wpbridge_protected_user" {
					t.Errorf("%s: err = %v, want 403 wpbridge_protected_user", what, err)
					continue
				}
				if errors.Is(err, wordpress.ErrUnauthorized) || !errors.Is(err, wordpress.ErrForbidden) || we.Temporary() {
					t.Errorf("%s: err = %v is ErrUnauthorized or temporary; want a permanent ErrForbidden", what, err)
				}
			}
			// Spelled in capitals, the route reaches the same handler.
			if status, code := rawPost(t, env, fmt.Sprintf("/WP/V2/USERS/%d", u.ID), map[string]any{"email": "caps-" + email}); status != 403 || code != "wpbridge_protected_user" {
				t.Errorf("capitalised route: %d %s, want 403 wpbridge_protected_user", status, code)
			}

			// Same values are no change; meta and names are allowed.
			got, err := wp.Users.Update(ctx, u.ID, wordpress.UserRequest{Fields: map[string]string{"email": email, "password": password, "first_name": "Kept"}, Roles: tt.roles,
				Meta: map[string]any{"activecampaign_tags": []string{"vip"}}})
			if err != nil {
				t.Fatalf("unchanged roles/password/email with new tags: %v", err)
			}
			if got.Email != email || !slices.Equal(got.Roles, tt.roles) || got.FirstName != "Kept" ||
				!slices.Equal(got.MetaStrings("activecampaign_tags"), []string{"vip"}) {
				t.Errorf("user after refused changes = %+v", got)
			}
			if !env.CheckPassword(t, u.Username, password) {
				t.Error("the original password no longer logs in")
			}
			if m := env.MailsTo(t, email); len(m) != 0 {
				t.Errorf("mails to the protected user = %+v, want none", m)
			}
		})
	}

	t.Run("plain subscriber", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		email := wptest.UniqueEmail(t, "plain")
		u := newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": email}, Roles: []string{"subscriber"}})
		got, err := wp.Users.Update(ctx, u.ID, wordpress.UserRequest{Roles: []string{"customer"},
			Fields: map[string]string{"password": "Plain-New-Pass-1", "email": "new-" + email}})
		if err != nil {
			t.Fatal(err)
		}
		if got.Email != "new-"+email || !slices.Equal(got.Roles, []string{"customer"}) {
			t.Errorf("user = %+v", got)
		}
		if !env.CheckPassword(t, u.Username, "Plain-New-Pass-1") {
			t.Error("new password does not log in")
		}
	})
}

// TestPlugin_BrowserAdminKeepsWorking: the protection applies to application
// passwords only; an administrator signed in with a cookie (wp-admin, the
// block editor) still changes an editor's email.
func TestPlugin_BrowserAdminKeepsWorking(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	wp := env.Client(t)
	adminEmail := wptest.UniqueEmail(t, "browser-admin")
	admin := newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": adminEmail, "password": "Browser-Admin-Pass-1"}, Roles: []string{"subscriber"}})
	env.SetCapabilities(t, admin.ID, "administrator")
	editor := newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": wptest.UniqueEmail(t, "browser-editor")}, Roles: []string{"subscriber"}})
	env.SetCapabilities(t, editor.ID, "editor")

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	site, _ := url.Parse(env.URL)
	jar.SetCookies(site, []*http.Cookie{{Name: "wordpress_test_cookie", Value: "WP%20Cookie%20check"}})
	form := url.Values{"log": {admin.Username}, "pwd": {"Browser-Admin-Pass-1"}, "testcookie": {"1"}, "redirect_to": {env.URL + "/wp-admin/"}}
	resp, err := hc.PostForm(env.URL+"/wp-login.php", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("login = %d, want 302", resp.StatusCode)
	}
	resp, err = hc.Get(env.URL + "/wp-admin/admin-ajax.php?action=rest-nonce")
	if err != nil {
		t.Fatal(err)
	}
	nonce, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(bytes.TrimSpace(nonce)) < 8 {
		t.Fatalf("rest nonce = %d %q", resp.StatusCode, nonce)
	}

	newEmail := "changed-" + editor.Email
	b, _ := json.Marshal(map[string]any{"email": newEmail})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
		env.URL+"/?rest_route="+url.QueryEscape(fmt.Sprintf("/wp/v2/users/%d", editor.ID)), bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-WP-Nonce", string(bytes.TrimSpace(nonce)))
	if status, code := doRaw(t, hc, req); status != http.StatusOK {
		t.Fatalf("cookie-authenticated email change = %d %s, want 200", status, code)
	}
	if got, err := wp.Users.Get(t.Context(), editor.ID); err != nil || got.Email != newEmail {
		t.Errorf("editor = %+v, %v; want email %s", got, err, newEmail)
	}
}

// TestPlugin_CoreFieldsAreNotMeta: core user fields (which the users
// endpoint sanitises) and capability keys of any table prefix are refused
// through wpbridge_meta, in reads, writes and by-meta lookups; a refused
// write changes nothing, whatever the case of the route.
func TestPlugin_CoreFieldsAreNotMeta(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	wp := env.Client(t)
	ctx := t.Context()
	u := newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": wptest.UniqueEmail(t, "corefields"), "first_name": "Before",
		"nickname": "nick", "description": "about"}, Roles: []string{"subscriber"}, Meta: map[string]any{"ok_key": "before"}})
	keys := []string{"first_name", "last_name", "nickname", "description", "user_login", "user_pass", "user_email",
		"display_name", "user_url", "role", "roles", "user_nicename", "user_registered", "user_activation_key",
		"user_status", "spam", "deleted", "ID", "First_Name", "locale", "admin_color", "rich_editing",
		"wpx_capabilities", "WPX_Capabilities", "wpx_user_level", "other2_capabilities"}
	for _, key := range keys {
		t.Run(key, func(t *testing.T) {
			_, err := wp.Users.Update(ctx, u.ID, wordpress.UserRequest{Fields: map[string]string{"first_name": "After"},
				Meta: map[string]any{"ok_key": "after", key: `<script>x</script>`}})
			var we *wordpress.Error
			if !errors.Is(err, wordpress.ErrInvalid) || !errors.As(err, &we) || we.Code != "wpbridge_protected_meta" {
				t.Errorf("write: err = %v, want 400 wpbridge_protected_meta", err)
			}
			if _, err := wp.Users.FindByMeta(ctx, key, "x"); !errors.Is(err, wordpress.ErrInvalid) {
				t.Errorf("FindByMeta(%q) err = %v, want ErrInvalid", key, err)
			}
		})
	}
	// Capitalised routes reach the same handlers and the same checks.
	status, code := rawPost(t, env, fmt.Sprintf("/WP/V2/Users/%d", u.ID),
		map[string]any{"first_name": "Capitals", "wpbridge_meta": map[string]any{"wp_capabilities": "x"}})
	if status != http.StatusBadRequest || code != "wpbridge_protected_meta" {
		t.Errorf("capitalised users route: %d %s, want 400 wpbridge_protected_meta", status, code)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		env.URL+"/?rest_route=/WPBRIDGE/V1/users/by-meta&key=wpx_capabilities&value=x", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(env.Username, env.AppPassword)
	if status, code := doRaw(t, http.DefaultClient, req); status != http.StatusBadRequest || code != "wpbridge_protected_meta" {
		t.Errorf("capitalised by-meta route: %d %s, want 400 wpbridge_protected_meta", status, code)
	}

	got, err := wp.Users.Get(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.FirstName != "Before" || got.Nickname != "nick" || got.Description != "about" || got.MetaString("ok_key") != "before" {
		t.Errorf("user changed by refused requests: %+v", got)
	}
	for _, k := range []string{"first_name", "nickname", "description", "rich_editing", "locale"} {
		if _, ok := got.Meta[k]; ok {
			t.Errorf("core field %s exposed in wpbridge_meta: %v", k, got.Meta)
		}
	}
}
