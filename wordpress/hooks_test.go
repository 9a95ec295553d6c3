package wordpress_test

// The actions the companion plugin fires (WP Fusion's, wpbridge's own, core's
// role actions), recorded by scripts/wp/wpbridge-test-hooks.php in the real
// WordPress. Each test asserts on its own users only.

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

const hookTags = "activecampaign_tags"

// hookRun writes through the client and returns the actions the write fired.
type hookRun struct {
	t    *testing.T
	env  wptest.Site
	wp   *wordpress.Client
	id   int64
	seen int
}

func (h *hookRun) fired() []string {
	h.t.Helper()
	got := h.env.HookStrings(h.t, h.id, h.seen)
	h.seen += len(got)
	return got
}

func (h *hookRun) update(action string, req wordpress.UserRequest) (*wordpress.User, error) {
	h.t.Helper()
	req.Hooks = &wordpress.Hooks{Action: action, ContactID: "c" + strconv.FormatInt(h.id, 10), TagsKey: hookTags,
		Meta: map[string]string{"first_name": "Ann"}}
	return h.wp.Users.Update(h.t.Context(), h.id, req)
}

func (h *hookRun) want(what string, want ...string) {
	h.t.Helper()
	cid := `"c` + strconv.FormatInt(h.id, 10) + `"`
	id := strconv.FormatInt(h.id, 10)
	for i := range want {
		want[i] = strings.NewReplacer("ID", id, "CID", cid).Replace(want[i])
	}
	if got := h.fired(); !slices.Equal(got, want) {
		h.t.Errorf("%s fired:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func newHookRun(t *testing.T, roles ...string) *hookRun {
	env := wptest.Env(t)
	if env.HookDir == "" {
		t.Skip("env file has no WPTEST_HOOK_DIR (restart scripts/wordpress.sh)")
	}
	wp := env.Client(t)
	email := wptest.UniqueEmail(t, "hooks")
	u, err := wp.Users.Create(t.Context(), wordpress.UserRequest{Roles: roles,
		Fields: map[string]string{"email": email, "username": strings.TrimSuffix(email, "@example.com"), "password": "Pw-" + email}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = wp.Users.Delete(context.Background(), u.ID, 0) }) // some tests delete it themselves
	h := &hookRun{t: t, env: env, wp: wp, id: u.ID}
	h.seen = len(env.Hooks(t, u.ID))
	return h
}

// TestHooks_Create: a create through the lookup route fires core's role
// action, then WP Fusion's tag actions, wpf_user_imported and wpbridge's.
func TestHooks_Create(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	if env.HookDir == "" {
		t.Skip("env file has no WPTEST_HOOK_DIR")
	}
	wp := env.Client(t)
	email := wptest.UniqueEmail(t, "hookcreate")
	cid := "hc-" + wptest.UniqueSlug("c")
	res, err := wp.Users.Lookup(t.Context(), wordpress.LookupRequest{Key: "activecampaign_contact_id", Value: cid, Email: email,
		Logins: []string{strings.TrimSuffix(email, "@example.com")},
		Create: &wordpress.UserRequest{
			Fields: map[string]string{"email": email, "password": "Pw-" + cid, "first_name": "Ann"},
			Roles:  []string{"subscriber"},
			Meta:   map[string]any{"activecampaign_contact_id": cid, hookTags: []string{"Gold", "VIP"}},
			Hooks:  &wordpress.Hooks{Action: "add", ContactID: cid, TagsKey: hookTags, Meta: map[string]string{"first_name": "Ann", "user_pass": "x"}},
		}})
	if err != nil || res.Found != wordpress.FoundCreated {
		t.Fatalf("lookup = %+v, %v", res, err)
	}
	id := res.User.ID
	t.Cleanup(func() { _ = wp.Users.Delete(t.Context(), id, 0) })
	var got []string
	for _, h := range env.Hooks(t, id) {
		got = append(got, h.String())
	}
	ids := strconv.FormatInt(id, 10)
	want := []string{
		"add_user_role(" + ids + `, "subscriber")`,
		"wpf_tags_applied(" + ids + `, ["Gold","VIP"])`,
		"wpf_tags_modified(" + ids + `, ["Gold","VIP"])`,
		"wpf_user_imported(" + ids + `, {"first_name":"Ann"})`,
		"wpbridge_tags_changed(" + ids + `, ["Gold","VIP"], [], ["Gold","VIP"])`,
		"wpbridge_user_created(" + ids + `, "` + cid + `")`,
	}
	// Core strips the new user's (no) roles first; that call says nothing.
	got = slices.DeleteFunc(got, func(s string) bool { return strings.HasPrefix(s, "set_user_role("+ids+", false") })
	if !slices.Equal(got, want) {
		t.Errorf("create fired:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestHooks_Rounds: an existing user through add, update, update_tags
// (added, removed, unchanged), a duplicate, a role switch, remove_access and
// delete: every call, its arguments and its order.
func TestHooks_Rounds(t *testing.T) {
	t.Parallel()
	h := newHookRun(t, "subscriber")
	tags := func(names ...string) map[string]any { return map[string]any{hookTags: names} }

	if _, err := h.update("add", wordpress.UserRequest{Meta: tags("Gold"), Fields: map[string]string{"first_name": "Ann"}}); err != nil {
		t.Fatal(err)
	}
	h.want("add of an existing user",
		`wpf_tags_applied(ID, ["Gold"])`, `wpf_tags_modified(ID, ["Gold"])`, `wpf_user_updated(ID, {"first_name":"Ann"})`,
		`wpbridge_tags_changed(ID, ["Gold"], [], ["Gold"])`, `wpbridge_user_updated(ID, CID)`)

	if _, err := h.update("update", wordpress.UserRequest{Meta: map[string]any{hookTags: []string{"Gold", "VIP"}, "phone": "555"}}); err != nil {
		t.Fatal(err)
	}
	h.want("update",
		`wpf_tags_applied(ID, ["VIP"])`, `wpf_tags_modified(ID, ["Gold","VIP"])`, `wpf_user_updated(ID, {"first_name":"Ann"})`,
		`wpbridge_tags_changed(ID, ["VIP"], [], ["Gold","VIP"])`, `wpbridge_user_updated(ID, CID)`)

	if _, err := h.update("update_tags", wordpress.UserRequest{Meta: tags("VIP", "Buyer")}); err != nil {
		t.Fatal(err)
	}
	h.want("update_tags adding and removing",
		`wpf_tags_applied(ID, ["Buyer"])`, `wpf_tags_removed(ID, ["Gold"])`, `wpf_tags_modified(ID, ["VIP","Buyer"])`,
		`wpbridge_tags_changed(ID, ["Buyer"], ["Gold"], ["VIP","Buyer"])`)

	for _, what := range []string{"update_tags unchanged", "a duplicate"} {
		if _, err := h.update("update_tags", wordpress.UserRequest{Meta: tags("VIP", "Buyer")}); err != nil {
			t.Fatal(err)
		}
		h.want(what, `wpf_tags_modified(ID, ["VIP","Buyer"])`)
	}

	if _, err := h.update("update_tags", wordpress.UserRequest{Meta: map[string]any{hookTags: nil}}); err != nil {
		t.Fatal(err)
	}
	h.want("update_tags removing every tag",
		`wpf_tags_removed(ID, ["VIP","Buyer"])`, `wpf_tags_modified(ID, [])`, `wpbridge_tags_changed(ID, [], ["VIP","Buyer"], [])`)

	if _, err := h.update("update", wordpress.UserRequest{Roles: []string{"customer"}}); err != nil {
		t.Fatal(err)
	}
	h.want("role switch", `remove_user_role(ID, "subscriber")`, `add_user_role(ID, "customer")`,
		`set_user_role(ID, "customer", ["subscriber"])`, `wpf_user_updated(ID, {"first_name":"Ann"})`,
		`wpbridge_user_updated(ID, CID)`)

	if _, err := h.update("update", wordpress.UserRequest{Roles: []string{"customer", "subscriber"}}); err != nil {
		t.Fatal(err)
	}
	h.want("a role added, one kept", `add_user_role(ID, "subscriber")`, `wpf_user_updated(ID, {"first_name":"Ann"})`,
		`wpbridge_user_updated(ID, CID)`)

	u, err := h.update("remove_access", wordpress.UserRequest{Roles: []string{}, Meta: tags("Lapsed")})
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Roles) != 0 {
		t.Errorf("roles after remove_access = %q", u.Roles)
	}
	h.want("remove_access", `remove_user_role(ID, "customer")`, `remove_user_role(ID, "subscriber")`,
		`wpf_tags_applied(ID, ["Lapsed"])`, `wpf_tags_modified(ID, ["Lapsed"])`,
		`wpbridge_tags_changed(ID, ["Lapsed"], [], ["Lapsed"])`, `wpbridge_access_removed(ID, CID)`)

	if _, err := h.update("remove_access", wordpress.UserRequest{Roles: []string{}, Meta: tags("Lapsed")}); err != nil {
		t.Fatal(err)
	}
	h.want("remove_access again", `wpf_tags_modified(ID, ["Lapsed"])`)

	warnings, err := h.wp.Users.DeleteForContact(t.Context(), h.id, 0, "c"+strconv.FormatInt(h.id, 10), "")
	if err != nil || len(warnings) != 0 {
		t.Fatalf("delete: %q, %v", warnings, err)
	}
	h.want("delete", `wpbridge_user_deleted(ID, CID)`)
}

// TestHooks_ThrowingListener: a listener that throws does not undo the write
// nor stop the other listeners; the answer carries the error as a warning.
func TestHooks_ThrowingListener(t *testing.T) {
	t.Parallel()
	h := newHookRun(t, "subscriber")
	if _, err := h.wp.Users.Update(t.Context(), h.id, wordpress.UserRequest{Meta: map[string]any{"wpbridge_test_throw": "wpf_tags_modified"}}); err != nil {
		t.Fatal(err)
	}
	u, err := h.update("update_tags", wordpress.UserRequest{Meta: map[string]any{hookTags: []string{"Gold"}}})
	if err != nil {
		t.Fatalf("write with a throwing listener: %v", err)
	}
	if got := u.MetaStrings(hookTags); !slices.Equal(got, []string{"Gold"}) {
		t.Errorf("tags = %q, want the write kept", got)
	}
	if len(u.Warnings) != 1 || !strings.Contains(u.Warnings[0], "wpf_tags_modified") || !strings.Contains(u.Warnings[0], "RuntimeException: test listener failed on purpose") {
		t.Errorf("warnings = %q", u.Warnings)
	}
	h.want("with a throwing listener", `wpf_tags_applied(ID, ["Gold"])`, `wpf_tags_modified(ID, ["Gold"])`,
		`wpbridge_tags_changed(ID, ["Gold"], [], ["Gold"])`)
}

// TestHooks_RetryAfterFailedRequest: a request that dies after its write
// (here a fatal error in a listener) fails; its retry finds the tags stored
// and fires wpf_tags_modified only, never wpf_tags_applied a second time.
func TestHooks_RetryAfterFailedRequest(t *testing.T) {
	t.Parallel()
	h := newHookRun(t, "subscriber")
	if _, err := h.wp.Users.Update(t.Context(), h.id, wordpress.UserRequest{Meta: map[string]any{"wpbridge_test_fatal": "wpf_tags_applied"}}); err != nil {
		t.Fatal(err)
	}
	req := wordpress.UserRequest{Meta: map[string]any{hookTags: []string{"Gold"}}}
	_, err := h.update("update_tags", req)
	var we *wordpress.Error
	if !errors.As(err, &we) || we.StatusCode != 500 {
		t.Fatalf("request with a dying listener: %v, want a 500", err)
	}
	h.want("the failed request", `wpf_tags_applied(ID, ["Gold"])`)
	if _, err := h.update("update_tags", req); err != nil {
		t.Fatalf("retry: %v", err)
	}
	h.want("the retry", `wpf_tags_modified(ID, ["Gold"])`)
}
