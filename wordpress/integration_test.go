package wordpress_test

// Integration tests against the real WordPress started by scripts/wordpress.sh
// (skipped when it is not running; WPBRIDGE_REQUIRE_WP=1 makes them fail instead).

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

// newUser creates a user for one test and deletes it afterwards.
func newUser(t *testing.T, wp *wordpress.Client, req wordpress.UserRequest) *wordpress.User {
	t.Helper()
	f := maps.Clone(req.Fields)
	if f == nil {
		f = map[string]string{}
	}
	if f["username"] == "" {
		f["username"] = strings.ReplaceAll(f["email"], "+", "") // WordPress refuses + in logins
	}
	if f["password"] == "" {
		f["password"] = "Pw-" + strings.ReplaceAll(f["email"], "@", "-")
	}
	req.Fields = f
	u, err := wp.Users.Create(t.Context(), req)
	if err != nil {
		t.Fatalf("create %s: %v", f["username"], err)
	}
	t.Cleanup(func() {
		if err := wp.Users.Delete(context.Background(), u.ID, 0); err != nil {
			t.Errorf("delete user %d: %v", u.ID, err)
		}
	})
	return u
}

func TestIntegration_CreateReadNotify(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	wp := env.Client(t)
	ctx := t.Context()
	email := wptest.UniqueEmail(t, "create")
	contactID := strings.TrimSuffix(email, "@example.com") // unique: a leftover user could hold a fixed id
	password := "Secret-\"x'&<y>" + email[:12]
	note := `back\slash "quoted" a:1:{i:0;s:1:"x";}`
	u := newUser(t, wp, wordpress.UserRequest{
		Fields:           map[string]string{"email": email, "password": password, "first_name": "Ann", "last_name": "Lee", "name": "Ann Lee"},
		Roles:            []string{"customer"},
		SendNotification: true,
		Meta: map[string]any{
			"activecampaign_tags":       []string{"Customer", "VIP, gold", "a b"},
			"activecampaign_contact_id": contactID,
			"note":                      note,
		},
	})
	got, err := wp.Users.Get(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != email || got.FirstName != "Ann" || got.Name != "Ann Lee" || !slices.Equal(got.Roles, []string{"customer"}) {
		t.Errorf("user = %+v", got)
	}
	if tags := got.MetaStrings("activecampaign_tags"); !slices.Equal(tags, []string{"Customer", "VIP, gold", "a b"}) {
		t.Errorf("tags = %q", tags)
	}
	if s := got.MetaString("note"); s != note {
		t.Errorf("note = %q, want %q", s, note)
	}
	for _, k := range []string{"wp_capabilities", "wp_user_level", "session_tokens"} {
		if _, ok := got.Meta[k]; ok {
			t.Errorf("protected meta %s exposed", k)
		}
	}
	if !env.CheckPassword(t, got.Username, password) {
		t.Error("the password given on create does not log in")
	}
	if env.CheckPassword(t, got.Username, password+"x") {
		t.Error("a wrong password logs in")
	}
	mails := env.MailsTo(t, email)
	if len(mails) != 1 || !strings.Contains(mails[0].Subject, "Login Details") || !strings.Contains(mails[0].Message, got.Username) {
		t.Errorf("mails to the new user = %+v, want one Login Details mail", mails)
	}

	found, err := wp.Users.FindByMeta(ctx, "activecampaign_contact_id", contactID)
	if err != nil || found.ID != u.ID || !slices.Equal(found.Roles, []string{"customer"}) || found.MetaString("note") != note {
		t.Errorf("FindByMeta = %+v, %v; want user %d with roles and meta", found, err, u.ID)
	}
	if _, err := wp.Users.FindByMeta(ctx, "activecampaign_contact_id", contactID+"x"); !errors.Is(err, wordpress.ErrNotFound) {
		t.Errorf("FindByMeta(unknown) err = %v, want ErrNotFound", err)
	}
}

func TestIntegration_Update(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	wp := env.Client(t)
	ctx := t.Context()
	email := wptest.UniqueEmail(t, "update")
	u := newUser(t, wp, wordpress.UserRequest{
		Fields: map[string]string{"email": email},
		Roles:  []string{"subscriber"},
		Meta:   map[string]any{"activecampaign_tags": []string{"one"}, "activecampaign_contact_id": "77", "keep": "me"},
	})

	got, err := wp.Users.Update(ctx, u.ID, wordpress.UserRequest{
		Fields: map[string]string{"first_name": "Bo"},
		Roles:  []string{"customer"},
		Meta:   map[string]any{"activecampaign_tags": []string{"two", "three"}, "activecampaign_contact_id": nil},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.FirstName != "Bo" || !slices.Equal(got.Roles, []string{"customer"}) {
		t.Errorf("user = %+v", got)
	}
	if tags := got.MetaStrings("activecampaign_tags"); !slices.Equal(tags, []string{"two", "three"}) {
		t.Errorf("tags = %q", tags)
	}
	if _, ok := got.Meta["activecampaign_contact_id"]; ok || got.MetaString("keep") != "me" {
		t.Errorf("meta = %v, want contact id deleted and keep=me", got.Meta)
	}
	if _, err := wp.Users.Update(ctx, u.ID, wordpress.UserRequest{Meta: map[string]any{"activecampaign_tags": []string{}}}); err != nil {
		t.Fatal(err)
	}
	if got, _ = wp.Users.Get(ctx, u.ID); len(got.MetaStrings("activecampaign_tags")) != 0 {
		t.Errorf("tags = %q, want empty", got.MetaStrings("activecampaign_tags"))
	}
	if _, err := wp.Users.Update(ctx, u.ID, wordpress.UserRequest{Roles: []string{"no-such-role"}}); !errors.Is(err, wordpress.ErrInvalid) {
		t.Errorf("unknown role err = %v, want ErrInvalid", err)
	}
	if _, err := wp.Users.Get(ctx, 99999999); !errors.Is(err, wordpress.ErrNotFound) {
		t.Errorf("Get(unknown) err = %v, want ErrNotFound", err)
	}
}

func TestIntegration_FindByEmail(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	wp := env.Client(t)
	ctx := t.Context()
	alice := wptest.UniqueEmail(t, "alice")
	malice := newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": "m" + alice}})
	longer := newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": alice + ".au"}})
	if _, err := wp.Users.FindByEmail(ctx, alice); !errors.Is(err, wordpress.ErrNotFound) {
		t.Fatalf("only near matches exist: err = %v, want ErrNotFound", err)
	}
	a := newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": alice}})
	for _, tt := range []struct {
		email string
		id    int64
	}{{alice, a.ID}, {strings.ToUpper(alice), a.ID}, {"m" + alice, malice.ID}, {alice + ".au", longer.ID}} {
		if u, err := wp.Users.FindByEmail(ctx, tt.email); err != nil || u.ID != tt.id {
			t.Errorf("FindByEmail(%s) = %v, %v; want id %d", tt.email, u, err, tt.id)
		}
	}

	plus := strings.Replace(wptest.UniqueEmail(t, "a"), "@", "+b@", 1)
	p := newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": plus}})
	if u, err := wp.Users.FindByEmail(ctx, plus); err != nil || u.ID != p.ID {
		t.Errorf("FindByEmail(%s) = %v, %v; want id %d", plus, u, err, p.ID)
	}
	if _, err := wp.Users.FindByEmail(ctx, strings.Replace(plus, "+", "", 1)); !errors.Is(err, wordpress.ErrNotFound) {
		t.Errorf("address without +: err = %v, want ErrNotFound", err)
	}
}

func TestIntegration_Duplicates(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	wp := env.Client(t)
	email := wptest.UniqueEmail(t, "dup")
	u := newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": email}})
	var we *wordpress.Error
	_, err := wp.Users.Create(t.Context(), wordpress.UserRequest{Fields: map[string]string{"username": u.Username, "email": "x" + email, "password": "pw-1234"}})
	if !errors.Is(err, wordpress.ErrExistingLogin) || !errors.As(err, &we) || we.Temporary() {
		t.Errorf("duplicate login err = %v, want permanent ErrExistingLogin", err)
	}
	_, err = wp.Users.Create(t.Context(), wordpress.UserRequest{Fields: map[string]string{"username": "x" + u.Username, "email": email, "password": "pw-1234"}})
	if !errors.Is(err, wordpress.ErrExistingEmail) || !errors.As(err, &we) || we.Temporary() {
		t.Errorf("duplicate email err = %v, want permanent ErrExistingEmail", err)
	}
}

func TestIntegration_ProtectedMeta(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	wp := env.Client(t)
	ctx := t.Context()
	u := newUser(t, wp, wordpress.UserRequest{
		Fields: map[string]string{"email": wptest.UniqueEmail(t, "protected"), "first_name": "Before"},
		Roles:  []string{"subscriber"},
		Meta:   map[string]any{"ok_key": "before"},
	})
	for _, key := range []string{"wp_capabilities", "WP_Capabilities", "wp_user_level", "_x", "session_tokens",
		"capabilities", "user_pass", "user_email", "bad key", "k\u00e9y"} {
		t.Run(key, func(t *testing.T) {
			_, err := wp.Users.Update(ctx, u.ID, wordpress.UserRequest{
				Fields: map[string]string{"first_name": "After"},
				Meta:   map[string]any{"ok_key": "after", key: `a:1:{s:13:"administrator";b:1;}`},
			})
			if !errors.Is(err, wordpress.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if _, err := wp.Users.FindByMeta(ctx, key, "1"); !errors.Is(err, wordpress.ErrInvalid) {
				t.Errorf("FindByMeta(%q) err = %v, want ErrInvalid", key, err)
			}
		})
	}
	got, err := wp.Users.Get(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.FirstName != "Before" || got.MetaString("ok_key") != "before" || !slices.Equal(got.Roles, []string{"subscriber"}) {
		t.Errorf("user changed by refused requests: %+v", got)
	}
}

func TestIntegration_AuthorCannotChangeAnything(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	wp := env.Client(t)
	author := env.AuthorClient(t)
	ctx := t.Context()
	victimEmail := wptest.UniqueEmail(t, "victim")
	victim := newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": victimEmail}, Meta: map[string]any{"activecampaign_contact_id": "555"}})
	self := findByUsername(t, wp, env.AuthorUsername)

	checks := map[string]func() error{
		"create": func() error {
			_, err := author.Users.Create(ctx, wordpress.UserRequest{Fields: map[string]string{"username": "evil" + victim.Username, "email": "evil" + victimEmail, "password": "pw-1234"}})
			return err
		},
		"meta on other user": func() error {
			_, err := author.Users.Update(ctx, victim.ID, wordpress.UserRequest{Meta: map[string]any{"activecampaign_tags": []string{"x"}}})
			return err
		},
		"meta on self": func() error {
			_, err := author.Users.Update(ctx, self.ID, wordpress.UserRequest{Meta: map[string]any{"activecampaign_tags": []string{"x"}}})
			return err
		},
		"notification": func() error {
			_, err := author.Users.Update(ctx, self.ID, wordpress.UserRequest{SendNotification: true})
			return err
		},
		"by-meta": func() error { _, err := author.Users.FindByMeta(ctx, "activecampaign_contact_id", "555"); return err },
		"status":  func() error { _, err := author.Site.Status(ctx); return err },
	}
	for name, call := range checks {
		// Signed in but not allowed: this request fails, the credentials are fine.
		if err := call(); !errors.Is(err, wordpress.ErrForbidden) || errors.Is(err, wordpress.ErrUnauthorized) {
			t.Errorf("%s: err = %v, want ErrForbidden and not ErrUnauthorized", name, err)
		}
	}
	if got, err := wp.Users.Get(ctx, self.ID); err != nil || got.MetaStrings("activecampaign_tags") != nil {
		t.Errorf("author meta = %v, %v; want no tags", got, err)
	}
	if got, err := wp.Users.Get(ctx, victim.ID); err != nil || got.MetaStrings("activecampaign_tags") != nil {
		t.Errorf("victim meta = %v, %v; want no tags", got, err)
	}
	if _, err := wp.Users.FindByEmail(ctx, "evil"+victimEmail); !errors.Is(err, wordpress.ErrNotFound) {
		t.Errorf("user created by author: %v", err)
	}
	if m := env.MailsTo(t, self.Email); len(m) != 0 {
		t.Errorf("mails to author = %+v, want none", m)
	}
}

func findByUsername(t *testing.T, wp *wordpress.Client, username string) wordpress.User {
	t.Helper()
	for page := 1; page <= 20; page++ {
		users, _, err := wp.Users.List(t.Context(), page, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			if u.Username == username {
				return u
			}
		}
		if len(users) < 100 {
			break
		}
	}
	t.Fatalf("user %s not found", username)
	return wordpress.User{}
}

func TestIntegration_StatusAndList(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	wp := env.Client(t)
	s, err := wp.Site.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	version := env.Version // the version scripts/wordpress.sh started (6.1 or 6.8)
	if version == "" {
		version = "6.1"
	}
	if s.Version == "" || !strings.HasPrefix(s.WordPress, version) || s.Roles["customer"] != "Customer" {
		t.Errorf("status = %+v", s)
	}
	for _, c := range []string{"create_users", "edit_users", "list_users", "promote_users"} {
		if !s.Capabilities[c] {
			t.Errorf("admin lacks %s: %v", c, s.Capabilities)
		}
	}
	users, total, err := wp.Users.List(t.Context(), 1, 1)
	if err != nil || len(users) != 1 || total < 2 || users[0].ID != 1 || users[0].Roles[0] != "administrator" {
		t.Errorf("List(1, 1) = %+v, total %d, %v", users, total, err)
	}

	bad, err := wordpress.NewClient(env.URL, env.Username, "wrong wrong wrong wrong")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Users.FindByEmail(t.Context(), "admin@example.com"); !errors.Is(err, wordpress.ErrUnauthorized) {
		t.Errorf("bad app password: err = %v, want ErrUnauthorized", err)
	}
}

// TestIntegration_SamePasswordIsNoChange: setting the password a user already
// has changes nothing and sends no "password changed" email; a new one does.
func TestIntegration_SamePasswordIsNoChange(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	wp := env.Client(t)
	email := wptest.UniqueEmail(t, "samepw")
	u := newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": email, "password": "First-Pass-1234"}})
	if _, err := wp.Users.Update(t.Context(), u.ID, wordpress.UserRequest{Fields: map[string]string{"password": "First-Pass-1234"}}); err != nil {
		t.Fatal(err)
	}

	if m := env.MailsTo(t, email); len(m) != 0 {
		t.Errorf("mails after setting the same password = %d, want 0", len(m))
	}
	if !env.CheckPassword(t, u.Username, "First-Pass-1234") {
		t.Error("password no longer logs in")
	}
	if _, err := wp.Users.Update(t.Context(), u.ID, wordpress.UserRequest{Fields: map[string]string{"password": "Second-Pass-5678"}}); err != nil {
		t.Fatal(err)
	}
	if m := env.MailsTo(t, email); len(m) != 1 {
		t.Errorf("mails after a new password = %d, want 1 (WordPress's password-changed notice)", len(m))
	}
	if !env.CheckPassword(t, u.Username, "Second-Pass-5678") {
		t.Error("new password does not log in")
	}
}
