package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/childproc"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

// TestImportTagRoles: with TAG_ROLES, wpbridge import gives access by tags as
// a webhook does: a new contact holding the role's tag gets the tag-managed
// role beside --role, one without it gets --role only, and --role naming a
// tag-managed role is ignored (tags decide); a contact already linked is
// skipped by import, its roles left as they are.
func TestImportTagRoles(t *testing.T) {
	site := wptest.Env(t)
	bin := binary(t)
	gold := wptest.UniqueSlug("importgold")
	site.AddRole(t, gold, "read")
	ac := acfake.NewServer(acfake.Config{APIKey: acKey})
	defer ac.Close()
	wp := site.Client(t)
	base := time.Now().UnixMilli() % 100_000_000 * 1000
	tag := fmt.Sprintf("Import Roles %d", base)
	ids := []string{fmt.Sprint(base), fmt.Sprint(base + 1), fmt.Sprint(base + 2)}
	emails := []string{wptest.UniqueEmail(t, "imp-gold"), wptest.UniqueEmail(t, "imp-plain"), wptest.UniqueEmail(t, "imp-lapsed")}
	ac.AddContact(acfake.Contact{ID: ids[0], Email: emails[0], Tags: []string{tag, "Gold"}})
	ac.AddContact(acfake.Contact{ID: ids[1], Email: emails[1], Tags: []string{tag}})
	ac.AddContact(acfake.Contact{ID: ids[2], Email: emails[2], Tags: []string{tag}})
	for _, e := range emails {
		t.Cleanup(func() { deleteUser(t, wp, e) })
	}
	lapsed, err := wp.Users.Create(context.Background(), wordpress.UserRequest{
		Fields: map[string]string{"username": emails[2], "email": emails[2], "password": "Pre-existing-9x"},
		Roles:  []string{gold}, Meta: map[string]any{contactIDMeta: ids[2]},
	})
	if err != nil {
		t.Fatalf("create the lapsed member: %v", err)
	}
	addr, err := childproc.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	env := []string{
		"ACCESS_KEY=" + accessKey, "AC_API_URL=" + ac.URL(), "AC_API_KEY=" + acKey,
		"WP_URL=" + site.URL, "WP_USERNAME=" + site.Username, "WP_APP_PASSWORD=" + site.AppPassword,
		"DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "wpbridge.db"), "LISTEN_ADDR=" + addr, "LOG_FORMAT=json",
		"WPBRIDGE_TEST_LEAVE_OUTBOX=1", "TAG_ROLES=Gold=" + gold, "ALLOWED_ROLES=subscriber,customer",
	}
	// The lapsed member is already linked: import skips it (counted), so
	// its tags and roles follow on its next webhook, not here.
	code, stdout, stderr := runImportBin(t, bin, env, "--tag", tag, "--role", "customer")
	if code != 0 {
		t.Fatalf("import: exit %d, %q %q", code, stdout, stderr)
	}
	roles := func(email string) []string {
		t.Helper()
		ids, err := site.UserIDsWithEmail(context.Background(), email)
		if err != nil || len(ids) != 1 {
			t.Fatalf("users with %s: %v %v, want one", email, ids, err)
		}
		u, err := wp.Users.Get(context.Background(), ids[0])
		if err != nil {
			t.Fatal(err)
		}
		return u.Roles
	}
	if r := roles(emails[0]); !sameSet(r, []string{"customer", gold}) {
		t.Errorf("new contact with the Gold tag: roles %v, want customer and %s", r, gold)
	}
	if r := roles(emails[1]); !slices.Equal(r, []string{"customer"}) {
		t.Errorf("new contact without the tag: roles %v, want [customer]", r)
	}
	if r := roles(emails[2]); !slices.Equal(r, []string{gold}) || lapsed.ID == 0 {
		t.Errorf("already linked member: roles %v, want [%s] left alone by import", r, gold)
	}

	// --role naming the tag-managed role: the tags decide, so a new contact
	// without the tag gets DEFAULT_ROLE, with a warning in the log.
	ids2, email2 := fmt.Sprint(base+3), wptest.UniqueEmail(t, "imp-asked")
	t.Cleanup(func() { deleteUser(t, wp, email2) })
	tag2 := tag + " b"
	ac.AddContact(acfake.Contact{ID: ids2, Email: email2, Tags: []string{tag2}})
	if code, stdout, stderr := runImportBin(t, bin, env, "--tag", tag2, "--role", gold); code != 0 {
		t.Fatalf("import --role %s: exit %d, %q %q", gold, code, stdout, stderr)
	}
	if r := roles(email2); !slices.Equal(r, []string{"subscriber"}) {
		t.Errorf("--role of a tag-managed role for a contact without the tag: roles %v, want [subscriber]", r)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
