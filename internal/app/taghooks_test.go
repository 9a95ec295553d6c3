package app_test

// WordPress hears every change, and access follows tags, end to end: webhooks
// through the HTTP endpoint, the real WordPress with the companion plugin and
// the test hook recorder (scripts/wp/wpbridge-test-hooks.php).

import (
	"slices"
	"strings"
	"testing"

	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

// firedSince returns the actions recorded for user id from the n-th on, by name.
func firedSince(t *testing.T, site wptest.Site, id int64, n int) (names []string, all []wptest.Hook) {
	t.Helper()
	hooks := site.Hooks(t, id)
	if n > len(hooks) {
		n = len(hooks)
	}
	for _, h := range hooks[n:] {
		names = append(names, h.Name)
	}
	return names, hooks[n:]
}

func arg(h []wptest.Hook, name string, i int) string {
	for _, x := range h {
		if x.Name == name && i < len(x.Args) {
			return string(x.Args[i])
		}
	}
	return ""
}

// TestTagRolesAndHooks: a new contact tagged Gold gets the tag-managed role
// and WordPress hears the create; losing the tag takes the role (DEFAULT_ROLE
// as the floor) and fires the tag and role actions; a duplicate fires
// wpf_tags_modified only; role= of a tag-managed role is ignored; a throwing
// listener leaves the round done, with the error in the webhook's message.
func TestTagRolesAndHooks(t *testing.T) {
	site := wptest.Env(t)
	if site.HookDir == "" {
		t.Skip("env file has no WPTEST_HOOK_DIR (restart scripts/wordpress.sh)")
	}
	gold := wptest.UniqueSlug("gold")
	site.AddRole(t, gold, "read")
	b := startBridgeWith(t, setup{Env: map[string]string{"TAG_ROLES": "Gold=" + gold + ",Gold annual=" + gold}})
	email := wptest.UniqueEmail(t, "tagroles")
	cid := b.addContact(acfake.Contact{Email: email, FirstName: "Tia", Tags: []string{"Gold"}})
	t.Cleanup(func() { b.deleteUserByEmail(email) })

	r := b.post("/", hook("add", "role", gold), contactBody(cid, email, "Gold"))
	if r.Code != 200 || r.Status != "done" || r.UserID == 0 {
		t.Fatalf("add: %+v", r)
	}
	id := r.UserID
	if u := b.user(id); !slices.Equal(u.Roles, []string{gold}) {
		t.Errorf("new user's roles = %q, want [%s] (the tag's role, role= ignored)", u.Roles, gold)
	}
	names, hooks := firedSince(t, site, id, 0)
	want := []string{"wpf_tags_applied", "wpf_tags_modified", "wpf_user_imported", "wpbridge_tags_changed", "wpbridge_user_created"}
	if got := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return strings.HasSuffix(n, "_user_role") }); !slices.Equal(got, want) {
		t.Errorf("create fired %q, want %q (after core's role actions)", names, want)
	}
	if got := arg(hooks, "wpbridge_user_created", 1); got != `"`+cid+`"` {
		t.Errorf("wpbridge_user_created contact = %s, want %q", got, cid)
	}
	if got := arg(hooks, "wpf_user_imported", 1); !strings.Contains(got, `"first_name":"Tia"`) || strings.Contains(got, "user_pass") {
		t.Errorf("wpf_user_imported meta = %s", got)
	}
	seen := len(site.Hooks(t, id))

	r = b.post("/", hook("update_tags"), contactBody(cid, email, "VIP"))
	if r.Code != 200 || r.Status != "done" {
		t.Fatalf("update_tags: %+v", r)
	}
	if u := b.user(id); !slices.Equal(u.Roles, []string{"subscriber"}) {
		t.Errorf("roles after losing Gold = %q, want [subscriber]", u.Roles)
	}
	names, hooks = firedSince(t, site, id, seen)
	want = []string{"remove_user_role", "add_user_role", "set_user_role", "wpf_tags_applied", "wpf_tags_removed",
		"wpf_tags_modified", "wpbridge_tags_changed", "wpbridge_user_updated"}
	if !slices.Equal(names, want) {
		t.Errorf("losing the tag fired %q, want %q", names, want)
	}
	if got := arg(hooks, "wpf_tags_removed", 1); got != `["Gold"]` {
		t.Errorf("wpf_tags_removed = %s", got)
	}
	seen += len(names)

	r = b.post("/", hook("update_tags"), contactBody(cid, email, "VIP"))
	if r.Code != 200 || r.Status != "done" {
		t.Fatalf("duplicate update_tags: %+v", r)
	}
	if names, _ = firedSince(t, site, id, seen); !slices.Equal(names, []string{"wpf_tags_modified"}) {
		t.Errorf("a duplicate fired %q, want wpf_tags_modified only", names)
	}
	seen += len(names)

	if _, err := b.WP.Users.Update(t.Context(), id, wordpress.UserRequest{Meta: map[string]any{"wpbridge_test_throw": "wpf_tags_applied"}}); err != nil {
		t.Fatal(err)
	}
	r = b.post("/", hook("update_tags"), contactBody(cid, email, "VIP", "Gold annual"))
	if r.Code != 200 || r.Status != "done" || !strings.Contains(r.Message, "WordPress listener failed (the write stands)") {
		t.Fatalf("update_tags with a throwing listener: %+v", r)
	}
	if u := b.user(id); !slices.Contains(u.Roles, gold) || !slices.Contains(u.MetaStrings("activecampaign_tags"), "Gold annual") {
		t.Errorf("after a throwing listener: roles %q, tags %q: want the write kept", u.Roles, u.MetaStrings("activecampaign_tags"))
	}
}
