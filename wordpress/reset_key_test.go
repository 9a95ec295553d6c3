package wordpress_test

import (
	"errors"
	"testing"

	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

// TestPlugin_ResetKey: the companion plugin makes password-reset keys
// (each replacing the last), sends WordPress's reset email only when asked,
// and refuses a user who can manage the site and a caller who cannot edit
// users.
func TestPlugin_ResetKey(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	wp := env.Client(t)
	ctx := t.Context()
	email := wptest.UniqueEmail(t, "resetkey")
	u := newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": email, "password": "Pw-" + email[:12]}, Roles: []string{"subscriber"}})

	key1, login, err := wp.Users.ResetKey(ctx, u.ID, false)
	if err != nil || key1 == "" || login != u.Username {
		t.Fatalf("reset key: %d chars, login %q, %v", len(key1), login, err)
	}
	if n := len(env.MailsTo(t, email)); n != 0 {
		t.Errorf("%d mails without send_email, want none", n)
	}
	key2, _, err := wp.Users.ResetKey(ctx, u.ID, true)
	if err != nil || key2 == "" || key2 == key1 {
		t.Fatalf("second key: %v (same as the first: %v)", err, key2 == key1)
	}
	if mails := env.MailsTo(t, email); len(mails) != 1 {
		t.Errorf("%d mails with send_email, want 1", len(mails))
	}

	if _, _, err := env.AuthorClient(t).Users.ResetKey(ctx, u.ID, false); !errors.Is(err, wordpress.ErrForbidden) {
		t.Errorf("asked by an author: %v, want ErrForbidden", err)
	}
	if _, _, err := wp.Users.ResetKey(ctx, 999_999_999, false); !errors.Is(err, wordpress.ErrNotFound) {
		t.Errorf("no such user: %v, want ErrNotFound", err)
	}
	env.SetCapabilities(t, u.ID, "subscriber", "manage_options")
	if key, _, err := wp.Users.ResetKey(ctx, u.ID, true); err == nil || key != "" {
		t.Errorf("a user with manage_options: key of %d chars, %v; want refused", len(key), err)
	}
	if n := len(env.MailsTo(t, email)); n != 1 {
		t.Errorf("%d mails after the refusal, want still 1", n)
	}
}
