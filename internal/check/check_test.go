package check

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/config"
	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

// Secrets used by the tests; none may appear in the output.
const (
	acKey     = "ac-SECRET-key-0123456789"
	wpUser    = "bridge-admin"
	wpPass    = "abcd EFGH ijkl MNOP qrst UVWX"
	accessKey = "access-SECRET-key-42"
)

// wpStatus is the companion plugin's status answer.
type wpStatus struct {
	Version      string              `json:"version"`
	WordPress    string              `json:"wordpress"`
	Roles        map[string]string   `json:"roles"`
	Capabilities map[string]bool     `json:"capabilities"`
	RoleAdmin    map[string][]string `json:"role_admin_capabilities,omitempty"`
}

func goodStatus() wpStatus {
	return wpStatus{
		Version: "1.4.0", WordPress: "6.1.9",
		Roles: map[string]string{"administrator": "Administrator", "subscriber": "Subscriber", "customer": "Customer",
			"editor": "Editor", "shop_manager": "Shop manager"},
		Capabilities: map[string]bool{"create_users": true, "edit_users": true, "list_users": true, "promote_users": true},
		RoleAdmin: map[string][]string{"administrator": {"edit_users", "promote_users", "manage_options", "unfiltered_html", "activate_plugins"},
			"editor": {"unfiltered_html"}, "shop_manager": {"edit_users", "unfiltered_html"}, "subscriber": {}, "customer": {}},
	}
}

// fakeWP serves the status route like WordPress with the companion plugin:
// 401 without the right application password, 403 when the user may not
// list users, 404 rest_no_route when the plugin is missing.
type fakeWP struct {
	status       wpStatus
	noPlugin     bool
	forbidden    bool           // signed in but lacks list_users
	metaIndex    map[string]any // the meta-index answer; nil: the plugin's own index is present
	noIndexRoute bool           // a plugin without the meta-index route
}

func (f *fakeWP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	writeJSON := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	wpErr := func(status int, code string) {
		writeJSON(status, map[string]any{"code": code, "message": "Sorry.", "data": map[string]any{"status": status}})
	}
	route := r.URL.Query().Get("rest_route")
	if r.URL.Path != "/" || r.Method != http.MethodGet {
		wpErr(404, "rest_no_route")
		return
	}
	if (route != "/wpbridge/v1/status" && (route != "/wpbridge/v1/meta-index" || f.noIndexRoute)) || f.noPlugin {
		wpErr(404, "rest_no_route")
		return
	}
	if u, p, ok := r.BasicAuth(); !ok || u != wpUser || strings.ReplaceAll(p, " ", "") != strings.ReplaceAll(wpPass, " ", "") {
		wpErr(401, "rest_forbidden")
		return
	}
	if f.forbidden {
		wpErr(403, "rest_forbidden")
		return
	}
	if route == "/wpbridge/v1/meta-index" {
		mi := f.metaIndex
		if mi == nil {
			mi = map[string]any{"table": "wp_usermeta", "present": true, "name": "wpbridge_meta_value", "own": true, "state": "created",
				"error": "", "sql": "ALTER TABLE `wp_usermeta` ADD INDEX wpbridge_meta_value (meta_key(191), meta_value(32)), ALGORITHM=INPLACE, LOCK=NONE;"}
		}
		writeJSON(200, mi)
		return
	}
	writeJSON(200, f.status)
}

// fixture is a configured environment: fake AC with two custom fields, fake WP.
type fixture struct {
	ac  *acfake.Server
	wp  *fakeWP
	env map[string]string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ac := acfake.NewServer(acfake.Config{APIKey: acKey})
	t.Cleanup(ac.Close)
	pw := ac.AddField("WP password", "WP_PASSWORD", "text")
	ac.AddField("Company size", "COMPANY_SIZE", "text")
	wp := &fakeWP{status: goodStatus()}
	ts := httptest.NewServer(wp)
	t.Cleanup(ts.Close)
	return &fixture{ac: ac, wp: wp, env: map[string]string{
		"ACCESS_KEY": accessKey, "AC_API_URL": ac.URL(), "AC_API_KEY": acKey,
		"WP_URL": ts.URL, "WP_USERNAME": wpUser, "WP_APP_PASSWORD": wpPass,
		"RETURN_PASSWORD_FIELD": pw,
		"FIELD_MAP":             "first_name=firstName,company_size=%COMPANY_SIZE%,pw_copy=field:" + pw,
	}}
}

// run loads the configuration from env and runs the check.
func run(t *testing.T, env map[string]string) (bool, string, []Result) {
	t.Helper()
	ctx := context.Background()
	cfg, err := config.Load(ctx, envconfig.MapLookuper(env))
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	ac, err := activecampaign.NewClient(cfg.ACAPIURL, cfg.ACAPIKey.Reveal())
	if err != nil {
		t.Fatalf("activecampaign.NewClient: %v", err)
	}
	wp, err := wordpress.NewClient(cfg.WPURL, cfg.WPUsername, cfg.WPAppPassword.Reveal())
	if err != nil {
		t.Fatalf("wordpress.NewClient: %v", err)
	}
	var out bytes.Buffer
	ok := Run(ctx, cfg, ac, wp, &out)
	text := out.String()
	for _, secret := range []string{acKey, wpPass, strings.ReplaceAll(wpPass, " ", ""), accessKey, env["AC_API_KEY"], env["WP_APP_PASSWORD"]} {
		if secret != "" && strings.Contains(text, secret) {
			t.Fatalf("check output contains a secret")
		}
	}
	return ok, text, Check(ctx, cfg, ac, wp)
}

// failLines returns the FAIL lines of the output.
func failLines(out string) []string {
	var fails []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "FAIL") {
			fails = append(fails, l)
		}
	}
	return fails
}

func TestCheckAllPass(t *testing.T) {
	f := newFixture(t)
	ok, out, results := run(t, f.env)
	if !ok {
		t.Fatalf("Run = false:\n%s", out)
	}
	if fails := failLines(out); len(fails) != 0 {
		t.Fatalf("FAIL lines: %q", fails)
	}
	for _, what := range []string{"ActiveCampaign API", "WordPress REST API", "WordPress companion plugin",
		"capability create_users", "capability edit_users", "capability list_users", "capability promote_users",
		"role subscriber", "role customer", "RETURN_PASSWORD_FIELD", "FIELD_MAP company_size", "FIELD_MAP pw_copy"} {
		found := false
		for _, r := range results {
			found = found || (r.What == what && r.OK)
		}
		if !found {
			t.Errorf("no passing %q check in:\n%s", what, out)
		}
	}
	for _, r := range results {
		if r.What == "FIELD_MAP first_name" {
			t.Errorf("standard field firstName was looked up as a custom field")
		}
	}
	if !strings.Contains(out, "all ") || !strings.Contains(out, "checks passed") {
		t.Errorf("no summary line:\n%s", out)
	}
}

func TestCheckFailures(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string // overrides
		wp     func(*fakeWP)
		closed bool     // WordPress unreachable
		acAtWP bool     // AC_API_URL points at the WordPress site
		want   []string // each must be in one FAIL line
		fails  int      // expected number of FAIL lines
	}{
		{name: "AC key rejected", env: map[string]string{"AC_API_KEY": "wrong-ac-key-777"},
			want: []string{"AC_API_KEY was rejected", "Settings > Developer"}, fails: 1},
		{name: "AC URL is not AC", env: map[string]string{"AC_API_URL": "http://127.0.0.1:1"},
			want: []string{"cannot use AC_API_URL", "check the URL"}, fails: 1},
		{name: "AC URL answers 404", acAtWP: true,
			want: []string{"does not look like an ActiveCampaign API URL", "Settings > Developer"}, fails: 1},
		{name: "plugin missing", wp: func(w *fakeWP) { w.noPlugin = true },
			want: []string{"WordPress companion plugin", "wp-content/mu-plugins/"}, fails: 1},
		{name: "plugin too old", wp: func(w *fakeWP) { w.status.Version = "1.0.0" },
			want: []string{"version 1.0.0 is older than 1.3.0", "wordpress/plugin/wpbridge.php"}, fails: 1},
		{name: "WP credentials rejected", env: map[string]string{"WP_APP_PASSWORD": "wrong pass word 1234"},
			want: []string{"WP_USERNAME \"bridge-admin\" with WP_APP_PASSWORD was rejected", "application password"}, fails: 1},
		{name: "WP user may not list users", wp: func(w *fakeWP) { w.forbidden = true },
			want: []string{"lacks the list_users capability", "administrator"}, fails: 1},
		{name: "WP unreachable", closed: true,
			want: []string{"cannot use WP_URL", "check the URL"}, fails: 1},
		{name: "capability missing", wp: func(w *fakeWP) { w.status.Capabilities["promote_users"] = false },
			want: []string{"capability promote_users", "lacks it", "administrator's application password"}, fails: 1},
		{name: "all capabilities missing", wp: func(w *fakeWP) { w.status.Capabilities = nil }, fails: 4,
			want: []string{"capability create_users", "capability edit_users", "capability list_users", "capability promote_users"}},
		{name: "allowed role missing", env: map[string]string{"ALLOWED_ROLES": "subscriber,customer,member"},
			want: []string{"role member", "does not exist", "ALLOWED_ROLES", "administrator, customer, editor, shop_manager, subscriber"}, fails: 1},
		{name: "allowed roles that are admins in disguise", env: map[string]string{"ALLOWED_ROLES": "subscriber,editor,shop_manager"}, fails: 2,
			want: []string{"role editor: holds admin-level capabilities (unfiltered_html)", "role shop_manager: holds admin-level capabilities (edit_users, unfiltered_html)", "ALLOWED_ROLES"}},
		{name: "default role holding an admin capability", env: map[string]string{"DEFAULT_ROLE": "editor"}, fails: 1,
			want: []string{"role editor: holds admin-level capabilities", "DEFAULT_ROLE"}},
		{name: "plugin without role capabilities", wp: func(w *fakeWP) { w.status.RoleAdmin = nil }, fails: 2,
			want: []string{"role subscriber", "role customer", "too old", "wordpress/plugin/wpbridge.php"}},
		{name: "default role missing", env: map[string]string{"DEFAULT_ROLE": "student"},
			want: []string{"role student", "DEFAULT_ROLE"}, fails: 1},
		{name: "return password field missing", env: map[string]string{"RETURN_PASSWORD_FIELD": "%NO_SUCH_FIELD%"},
			want: []string{"RETURN_PASSWORD_FIELD", "no custom field %NO_SUCH_FIELD%", "create it or fix the variable"}, fails: 1},
		{name: "return password field id missing", env: map[string]string{"RETURN_PASSWORD_FIELD": "9999"},
			want: []string{"RETURN_PASSWORD_FIELD", "no custom field 9999"}, fails: 1},
		{name: "return link field missing", env: map[string]string{"RETURN_LINK_FIELD": "%NO_LINK_FIELD%"},
			want: []string{"RETURN_LINK_FIELD", "no custom field %NO_LINK_FIELD%", "create it or fix the variable"}, fails: 1},
		{name: "field map refs missing", env: map[string]string{"FIELD_MAP": "first_name=firstName,size=%NOPE%,extra=field:8888"},
			want: []string{"FIELD_MAP size", "no custom field %NOPE%", "FIELD_MAP extra", "no custom field 8888"}, fails: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			env := maps.Clone(f.env)
			maps.Copy(env, tc.env)
			if tc.wp != nil {
				tc.wp(f.wp)
			}
			if tc.acAtWP {
				env["AC_API_URL"] = env["WP_URL"]
			}
			if tc.closed {
				ts := httptest.NewServer(http.NotFoundHandler())
				env["WP_URL"] = ts.URL
				ts.Close()
			}
			ok, out, _ := run(t, env)
			if ok {
				t.Fatalf("Run = true:\n%s", out)
			}
			fails := failLines(out)
			if len(fails) != tc.fails {
				t.Errorf("%d FAIL lines, want %d:\n%s", len(fails), tc.fails, out)
			}
			joined := strings.Join(fails, "\n")
			for _, w := range tc.want {
				if !strings.Contains(joined, w) {
					t.Errorf("FAIL lines lack %q:\n%s", w, out)
				}
			}
			for _, l := range fails {
				// "FAIL  what: detail" with a detail that says what to do.
				what, detail, found := strings.Cut(strings.TrimPrefix(l, "FAIL  "), ": ")
				if !found || what == "" || len(detail) < 20 {
					t.Errorf("FAIL line without a useful detail: %q", l)
				}
			}
			if !strings.Contains(out, "checks failed: fix the items marked FAIL") {
				t.Errorf("no failure summary:\n%s", out)
			}
		})
	}
}

// TestCheckRealWordPress runs the check against the test WordPress (skipped
// when it is not running) and the fake AC.
func TestCheckRealWordPress(t *testing.T) {
	site := wptest.Env(t)
	ac := acfake.NewServer(acfake.Config{APIKey: acKey})
	defer ac.Close()
	pw := ac.AddField("WP password", "WP_PASSWORD", "text")
	env := map[string]string{
		"ACCESS_KEY": accessKey, "AC_API_URL": ac.URL(), "AC_API_KEY": acKey,
		"WP_URL": site.URL, "WP_USERNAME": site.Username, "WP_APP_PASSWORD": site.AppPassword,
		"RETURN_PASSWORD_FIELD": "%WP_PASSWORD%", "FIELD_MAP": "first_name=firstName,pw_copy=field:" + pw,
	}
	ok, out, _ := run(t, env)
	if !ok {
		t.Fatalf("check against the test WordPress failed:\n%s", out)
	}
	if strings.Contains(out, site.AppPassword) {
		t.Fatal("output contains the application password")
	}

	t.Run("admin roles in disguise", func(t *testing.T) {
		boss := wptest.UniqueSlug("check_boss")
		site.AddRole(t, boss, "manage_options")
		env := maps.Clone(env)
		env["ALLOWED_ROLES"] = "subscriber,editor," + boss
		ok, out, _ := run(t, env)
		fails := strings.Join(failLines(out), "\n")
		if ok || len(failLines(out)) != 2 || !strings.Contains(fails, "role editor: holds admin-level capabilities (unfiltered_html)") ||
			!strings.Contains(fails, "role "+boss+": holds admin-level capabilities (manage_options)") {
			t.Fatalf("ALLOWED_ROLES with editor and a role holding manage_options: ok=%v\n%s", ok, out)
		}
	})
	t.Run("author lacks capabilities", func(t *testing.T) {
		if site.AuthorUsername == "" || site.AuthorAppPassword == "" {
			t.Skip("no author user")
		}
		env := maps.Clone(env)
		env["WP_USERNAME"], env["WP_APP_PASSWORD"] = site.AuthorUsername, site.AuthorAppPassword
		ok, out, _ := run(t, env)
		if ok || !strings.Contains(out, "lacks the list_users capability") {
			t.Fatalf("author: ok=%v\n%s", ok, out)
		}
		if strings.Contains(out, site.AuthorAppPassword) {
			t.Fatal("output contains the application password")
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		env := maps.Clone(env)
		env["WP_APP_PASSWORD"] = "aaaa bbbb cccc dddd eeee ffff"
		ok, out, _ := run(t, env)
		if ok || !strings.Contains(out, "was rejected") {
			t.Fatalf("wrong password: ok=%v\n%s", ok, out)
		}
	})
}

// TestShortAccessKeyWarns: an access key shorter than 16 characters (any of
// several) gives a warn line naming ACCESS_KEY, never the key, and the check
// still passes; 16 characters give none.
func TestShortAccessKeyWarns(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		keys string
		warn bool
	}{
		{"long key", accessKey, false},
		{"exactly 16 characters", "0123456789abcdéf", false},
		{"short key", "Sh0rtKey-15char", true},
		{"one short key of two", accessKey + ",Sh0rtKey-15char", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := maps.Clone(f.env)
			env["ACCESS_KEY"] = tc.keys
			ok, out, _ := run(t, env)
			if !ok {
				t.Fatalf("Run = false:\n%s", out)
			}
			var warns []string
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "warn") {
					warns = append(warns, l)
				}
			}
			if !tc.warn {
				if len(warns) != 0 {
					t.Errorf("warn lines %q", warns)
				}
				return
			}
			if len(warns) != 1 || !strings.HasPrefix(warns[0], "warn  ACCESS_KEY: access key shorter than 16 characters") {
				t.Errorf("warn lines %q, want one about ACCESS_KEY", warns)
			}
			if strings.Contains(out, "Sh0rtKey") {
				t.Error("the output shows the access key")
			}
		})
	}
}

// TestCheckTagRoles: every role TAG_ROLES names must exist in WordPress and
// every tag in ActiveCampaign.
func TestCheckTagRoles(t *testing.T) {
	f := newFixture(t)
	f.ac.AddTag("Gold member")
	env := maps.Clone(f.env)
	env["TAG_ROLES"] = "Gold member=customer,Nope=ghost"
	ok, out, _ := run(t, env)
	if ok {
		t.Fatalf("Run = true:\n%s", out)
	}
	fails := strings.Join(failLines(out), "\n")
	for _, w := range []string{"role ghost: does not exist", "TAG_ROLES tag Nope: ActiveCampaign has no tag \"Nope\""} {
		if !strings.Contains(fails, w) {
			t.Errorf("FAIL lines lack %q:\n%s", w, out)
		}
	}
	if n := len(failLines(out)); n != 2 {
		t.Errorf("%d FAIL lines, want 2:\n%s", n, out)
	}
	if !strings.Contains(out, "ok    TAG_ROLES tag Gold member: exists") {
		t.Errorf("the existing tag is not reported ok:\n%s", out)
	}
}

// TestCheckMultisite: on site 2 of the test network, check names the network
// and the site and passes for the super admin; site 2's administrator, no
// super admin, may not add users (on a network, editing users needs
// manage_network_users and creating them create_users) and check says so.
func TestCheckMultisite(t *testing.T) {
	net := wptest.Multisite(t)
	ac := acfake.NewServer(acfake.Config{APIKey: acKey})
	defer ac.Close()
	env := map[string]string{
		"ACCESS_KEY": accessKey, "AC_API_URL": ac.URL(), "AC_API_KEY": acKey,
		"WP_URL": net.Site2.URL, "WP_USERNAME": net.Site2.Username, "WP_APP_PASSWORD": net.Site2.AppPassword,
	}
	ok, out, _ := run(t, env)
	if !ok || !strings.Contains(out, `WP_URL is site 2 "wpbridge test site 2"`) || !strings.Contains(out, "subdirectory network") ||
		!strings.Contains(out, "is a super admin: may edit, add and create users on site 2") {
		t.Fatalf("check of site 2 as the super admin: ok=%v\n%s", ok, out)
	}
	env["WP_USERNAME"], env["WP_APP_PASSWORD"] = net.Site2AdminUsername, net.Site2AdminAppPassword
	ok, out, _ = run(t, env)
	fails := strings.Join(failLines(out), "\n")
	if ok || !strings.Contains(fails, "adding users to the site") || !strings.Contains(fails, "no super admin") ||
		!strings.Contains(fails, "manage_network_users") || !strings.Contains(fails, "add_new_users") {
		t.Fatalf("check of site 2 as its administrator: ok=%v\n%s", ok, out)
	}
	if strings.Contains(out, net.Site2AdminAppPassword) {
		t.Fatal("output contains the application password")
	}
}

// TestCheckSecretKey: on PostgreSQL with a return field, check says whether
// pending secrets are stored encrypted (SECRET_KEY), and fails without it.
func TestCheckSecretKey(t *testing.T) {
	for _, tt := range []struct {
		db, field, key string
		want           string // "" no line
		ok             bool
	}{
		{"postgres://u@db/x", "13", "", "not set", false},
		{"postgres://u@db/x", "13", strings.Repeat("k", 32), "stored encrypted", true},
		{"postgres://u@db/x", "", "", "", false},
		{"sqlite:x.db", "13", "", "", false},
	} {
		cfg := &config.Config{DatabaseURL: tt.db, ReturnLinkField: tt.field, SecretKey: config.Secret(tt.key)}
		var r results
		r.secretKey(cfg)
		if tt.want == "" {
			if len(r) != 0 {
				t.Errorf("%s %q: %v, want no line", tt.db, tt.field, r)
			}
			continue
		}
		if len(r) != 1 || r[0].What != "SECRET_KEY" || r[0].OK != tt.ok || !strings.Contains(r[0].Detail, tt.want) ||
			(tt.key != "" && strings.Contains(r[0].Detail, tt.key)) {
			t.Errorf("%s key set %v: %+v, want ok=%v %q", tt.db, tt.key != "", r, tt.ok, tt.want)
		}
	}
}

// TestPluginBeforeOneRequestRoundsWarns: plugin 1.3 works, with a warning
// that 1.4 saves a WordPress request per first round.
func TestPluginBeforeOneRequestRoundsWarns(t *testing.T) {
	for _, tc := range []struct {
		version string
		warn    bool
	}{{"1.3.0", true}, {"1.3.2", true}, {"1.4.0", false}, {"1.10.0", false}} {
		t.Run(tc.version, func(t *testing.T) {
			f := newFixture(t)
			f.wp.status.Version = tc.version
			ok, out, _ := run(t, f.env)
			if !ok {
				t.Fatalf("Run = false:\n%s", out)
			}
			warned := strings.Contains(out, "warn  WordPress companion plugin: installed, version "+tc.version+"; version 1.4.0")
			if warned != tc.warn {
				t.Errorf("warned %v, want %v:\n%s", warned, tc.warn, out)
			}
		})
	}
}
