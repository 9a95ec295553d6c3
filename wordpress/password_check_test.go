package wordpress_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

// TestPlugin_PasswordCheck: the companion plugin's password check answers
// whether a password is a user's, against the real WordPress: never for a
// user who can manage the site, never to a caller who cannot edit users, and
// without the password in any answer.
func TestPlugin_PasswordCheck(t *testing.T) {
	t.Parallel()
	env := wptest.Env(t)
	wp := env.Client(t)
	ctx := t.Context()
	email := wptest.UniqueEmail(t, "pwcheck")
	password := `Pw-"x'&<y> ` + email[:12]
	u := newUser(t, wp, wordpress.UserRequest{Fields: map[string]string{"email": email, "password": password}, Roles: []string{"subscriber"}})

	// The check agrees with WordPress's login, quotes and all.
	if !env.CheckPassword(t, u.Username, password) {
		t.Fatal("the user cannot log in with its password")
	}
	if ok, err := wp.Users.CheckPassword(ctx, u.ID, password); err != nil || !ok {
		t.Errorf("the user's password: %v, %v; want a match", ok, err)
	}
	if ok, err := wp.Users.CheckPassword(ctx, u.ID, password+"x"); err != nil || ok {
		t.Errorf("another password: %v, %v; want no match", ok, err)
	}
	if ok, err := wp.Users.CheckPassword(ctx, 999_999_999, password); ok || !errors.Is(err, wordpress.ErrNotFound) {
		t.Errorf("no such user: %v, %v; want ErrNotFound", ok, err)
	}
	ok, err := env.AuthorClient(t).Users.CheckPassword(ctx, u.ID, password)
	if ok || !errors.Is(err, wordpress.ErrForbidden) {
		t.Errorf("asked by an author: %v, %v; want ErrForbidden", ok, err)
	}
	if err != nil && strings.Contains(err.Error(), password) {
		t.Error("the password is in the error")
	}

	// A user who can manage the site (here manage_options granted directly,
	// as role-editor plugins do) is never answered for.
	if ok, err := wp.Users.CheckPassword(ctx, u.ID, password); err != nil || !ok {
		t.Fatalf("before the grant: %v, %v; want a match", ok, err)
	}
	env.SetCapabilities(t, u.ID, "subscriber", "manage_options")
	if ok, err := wp.Users.CheckPassword(ctx, u.ID, password); err != nil || ok {
		t.Errorf("a user with manage_options: %v, %v; want no match", ok, err)
	}
}
