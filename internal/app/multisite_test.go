package app_test

// A multisite network end to end: one wpbridge per site (its own WP_URL and
// database), both in front of the network that scripts/wordpress.sh starts
// with WPBRIDGE_WP_MULTISITE=1 (subdirectory install, two sites, the
// companion plugin network-activated, not a mu-plugin). Users there cannot be
// deleted over REST (WordPress answers 501 on a network): the tests own their
// unique addresses and leave the users in the throwaway network.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/wpbridge/wpbridge/internal/app"
	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

// networkBridges starts a wpbridge for each site of the network, sharing one
// fake AC. Site 2's rules differ: DEFAULT_ROLE customer.
func networkBridges(t *testing.T) (net wptest.Network, b1, b2 *bridge) {
	t.Helper()
	net = wptest.Multisite(t)
	ac, passID := newAC(t, 5)
	b1 = startBridgeWith(t, setup{AC: ac, PassID: passID, Site: &net.Site1, Opts: app.Options{}})
	b2 = startBridgeWith(t, setup{AC: ac, PassID: passID, Site: &net.Site2, Env: map[string]string{"DEFAULT_ROLE": "customer"}})
	return net, b1, b2
}

// networkUsers returns the ids of every network user with email (the users
// table is the network's; the users endpoint lists a site's members only).
func networkUsers(t *testing.T, b1, b2 *bridge, email string) []int64 {
	t.Helper()
	var ids []int64
	for _, b := range []*bridge{b1, b2} {
		got, err := b.Site.UserIDsWithEmail(context.Background(), email)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range got {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// addOnSite1 adds a new contact (a unique email from prefix, first name
// first) with tag Gold through site 1's wpbridge, which creates its user.
func addOnSite1(t *testing.T, b1 *bridge, prefix, first string) (id, email string, r1 response) {
	t.Helper()
	email = wptest.UniqueEmail(t, prefix)
	id = b1.addContact(acfake.Contact{Email: email, FirstName: first})
	r1 = b1.post("/", hook("add"), contactBody(id, email, "Gold"))
	if r1.Status != "done" || r1.UserID == 0 {
		t.Fatalf("add on site 1 = %d %q %q", r1.Code, r1.Status, r1.Message)
	}
	return id, email, r1
}

// TestMultisiteAddJoinsNetworkUser: a contact added on site 1 (a subscriber
// there), then added on site 2, is the same network user, now a member of
// site 2 with site 2's rule (DEFAULT_ROLE customer) while keeping subscriber
// on site 1; its tags and contact id are the network user's.
func TestMultisiteAddJoinsNetworkUser(t *testing.T) {
	_, b1, b2 := networkBridges(t)
	id, email, r1 := addOnSite1(t, b1, "ms-join", "Net")
	r2 := b2.post("/", hook("add"), contactBody(id, email, "Gold", "Site2"))
	if r2.Status != "done" || r2.UserID != r1.UserID {
		t.Fatalf("add on site 2 = %d %q %q user %d, want done for network user %d", r2.Code, r2.Status, r2.Message, r2.UserID, r1.UserID)
	}
	if ids := networkUsers(t, b1, b2, email); len(ids) != 1 {
		t.Fatalf("users with the contact's email: %v, want one", ids)
	}
	if got := b2.user(r1.UserID); !slices.Equal(got.Roles, []string{"customer"}) {
		t.Errorf("site 2 roles = %v, want [customer] (site 2's DEFAULT_ROLE)", got.Roles)
	}
	got1 := b1.user(r1.UserID)
	if !slices.Equal(got1.Roles, []string{"subscriber"}) {
		t.Errorf("site 1 roles = %v, want [subscriber] (roles are per site)", got1.Roles)
	}
	if tags := got1.MetaStrings("activecampaign_tags"); !slices.Equal(tags, []string{"Gold", "Site2"}) {
		t.Errorf("tags seen from site 1 = %q, want the network user's [Gold Site2]", tags)
	}
	if got := got1.MetaString(contactIDMeta); got != id {
		t.Errorf("contact id = %q, want %q", got, id)
	}
	// Found again by contact id: nothing changes, still one user.
	if r := b2.post("/", hook("add"), contactBody(id, email, "Gold", "Site2")); r.Status != "done" || r.UserID != r1.UserID {
		t.Errorf("second add on site 2 = %q %q user %d", r.Status, r.Message, r.UserID)
	}
}

// TestMultisiteNewUserOnSite2Only: a new contact added on site 2 becomes a
// network user who is a member of site 2 only, with a role from its request
// (role rules apply per site).
func TestMultisiteNewUserOnSite2Only(t *testing.T) {
	_, b1, b2 := networkBridges(t)
	email := wptest.UniqueEmail(t, "ms-new")
	id := b2.addContact(acfake.Contact{Email: email})
	r := b2.post("/", hook("add", "role", "subscriber"), contactBody(id, email, "Fresh"))
	if r.Status != "done" || r.UserID == 0 {
		t.Fatalf("add on site 2 = %d %q %q", r.Code, r.Status, r.Message)
	}
	if got := b2.user(r.UserID); !slices.Equal(got.Roles, []string{"subscriber"}) || got.MetaString(contactIDMeta) != id {
		t.Errorf("site 2: roles %v, contact id %q; want [subscriber], %s", got.Roles, got.MetaString(contactIDMeta), id)
	}
	if _, err := b1.WP.Users.Get(context.Background(), r.UserID); !errors.Is(err, wordpress.ErrNotFound) {
		t.Errorf("site 1 get user %d: %v, want not found (no member of site 1)", r.UserID, err)
	}
	if ids := networkUsers(t, b1, b2, email); !slices.Equal(ids, []int64{r.UserID}) {
		t.Errorf("users with the contact's email: %v, want [%d]", ids, r.UserID)
	}
}

// TestMultisiteSuperAdminUntouched: a contact whose email is a super admin's
// (a subscriber of site 1, no member of site 2) gets tags and meta only: no
// role on site 2, its site-1 role and email as they were.
func TestMultisiteSuperAdminUntouched(t *testing.T) {
	net, b1, b2 := networkBridges(t)
	if net.SuperAdminEmail == "" {
		t.Fatal("the network's env file names no second super admin")
	}
	before, err := b1.WP.Users.FindByEmail(context.Background(), net.SuperAdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	id := b2.addContact(acfake.Contact{Email: net.SuperAdminEmail, FirstName: "Changed"})
	tag := wptest.UniqueSlug("ms_super")
	for _, b := range []*bridge{b2, b1} {
		r := b.post("/", hook("add", "role", "customer"), contactBody(id, net.SuperAdminEmail, tag))
		if r.Status != "done" || r.UserID != before.ID {
			t.Fatalf("add = %d %q %q user %d, want done for user %d", r.Code, r.Status, r.Message, r.UserID, before.ID)
		}
		if !containsLog(b, "is not managed by wpbridge") {
			t.Errorf("%s: no warning that the super admin is not managed", b.Site.URL)
		}
	}
	if got := b2.user(before.ID); len(got.Roles) != 0 {
		t.Errorf("site 2 roles of the super admin = %v, want none", got.Roles)
	}
	after := b1.user(before.ID)
	if !slices.Equal(after.Roles, before.Roles) || after.Email != before.Email || after.FirstName != before.FirstName {
		t.Errorf("super admin changed on site 1: roles %v email %q first name %q (was %v %q %q)",
			after.Roles, after.Email, after.FirstName, before.Roles, before.Email, before.FirstName)
	}
	if tags := after.MetaStrings("activecampaign_tags"); !slices.Equal(tags, []string{tag}) {
		t.Errorf("tags = %q, want [%s] (tags are still written)", tags, tag)
	}
}

func containsLog(b *bridge, s string) bool { return strings.Contains(b.Logs.String(), s) }

// TestMultisiteUpdateOfANonMember: update and update_tags on site 2 for a
// contact whose user is a member of site 1 only are ignored there (site 2
// has no user to write to; the users endpoint would answer 404), and leave
// the user as site 1 has it; site 1's own update still writes.
func TestMultisiteUpdateOfANonMember(t *testing.T) {
	_, b1, b2 := networkBridges(t)
	id, email, r1 := addOnSite1(t, b1, "ms-nonmember", "One")
	b1.AC.AddContact(acfake.Contact{ID: id, Email: email, FirstName: "Two"}) // the name changes in AC
	for _, action := range []string{"update", "update_tags"} {
		r := b2.post("/", hook(action), contactBody(id, email, "Silver"))
		if r.Code != 200 || r.Status != "ignored" {
			t.Errorf("%s on site 2 = %d %q %q, want 200 ignored", action, r.Code, r.Status, r.Message)
		}
	}
	if _, err := b2.WP.Users.Get(context.Background(), r1.UserID); !errors.Is(err, wordpress.ErrNotFound) {
		t.Errorf("site 2 get user %d: %v, want not found (still no member of site 2)", r1.UserID, err)
	}
	got := b1.user(r1.UserID)
	if got.FirstName != "One" || !slices.Equal(got.MetaStrings("activecampaign_tags"), []string{"Gold"}) {
		t.Errorf("after site 2's webhooks: first name %q tags %q, want One [Gold] (untouched)", got.FirstName, got.MetaStrings("activecampaign_tags"))
	}
	if r := b1.post("/", hook("update"), contactBody(id, email, "Silver")); r.Status != "done" {
		t.Fatalf("update on site 1 = %d %q %q", r.Code, r.Status, r.Message)
	}
	if got := b1.user(r1.UserID); got.FirstName != "Two" || !slices.Equal(got.MetaStrings("activecampaign_tags"), []string{"Silver"}) {
		t.Errorf("after site 1's update: first name %q tags %q, want Two [Silver]", got.FirstName, got.MetaStrings("activecampaign_tags"))
	}
}
