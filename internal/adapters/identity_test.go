package adapters

// Linking by identity, against the real WordPress with the real companion
// plugin and the fake AC: the rules (contactsync.Syncer) over these adapters.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

const contactIDKey = "activecampaign_contact_id"

// memPasswords is an in-memory contactsync.PasswordStore.
type memPasswords struct {
	mu sync.Mutex
	m  map[string]string
}

func (p *memPasswords) PendingPassword(_ context.Context, id string) (string, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pw, ok := p.m[id]
	return pw, ok, nil
}

func (p *memPasswords) SavePendingPassword(_ context.Context, id, pw string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.m[id] = pw
	return nil
}

func (p *memPasswords) DeletePendingPassword(_ context.Context, id string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.m, id)
	return nil
}

// realSync is a Syncer over the real WordPress and a fake AC whose password
// field (its id in passField) receives generated passwords.
type realSync struct {
	s         *contactsync.Syncer
	wp        *wordpress.Client
	site      wptest.Site
	ac        *acfake.Server
	pw        *memPasswords
	passField string
}

func newRealSync(t *testing.T) *realSync {
	t.Helper()
	site := wptest.Env(t)
	contacts, srv := newContacts(t)
	r := &realSync{wp: site.Client(t), site: site, ac: srv, pw: &memPasswords{m: map[string]string{}},
		passField: srv.AddField("WP Password", "WP_PASSWORD", "text")}
	r.s = &contactsync.Syncer{Contacts: contacts, Users: &Users{WP: r.wp}, Passwords: r.pw, Policy: contactsync.Policy{
		DefaultRole: "subscriber", AllowedRoles: []string{"subscriber"}, UsernameFormat: "email", PasswordLength: 16,
		ReturnPasswordField: "%WP_PASSWORD%", TagsMetaKey: "activecampaign_tags", ContactIDMetaKey: contactIDKey,
		FieldMap: []contactsync.Mapping{{Target: "first_name", Source: "firstName"}, {Target: "last_name", Source: "lastName"}},
	}}
	return r
}

// contactID returns a contact id no other run links a user to.
func contactID() string { return fmt.Sprint(time.Now().UnixNano() / 1000 % 1_000_000_000_000) }

// createUser creates a WordPress user directly (no contact link) and deletes it afterwards.
func (r *realSync) createUser(t *testing.T, email, password string) *wordpress.User {
	t.Helper()
	u, err := r.wp.Users.Create(t.Context(), wordpress.UserRequest{
		Fields: map[string]string{"username": contactsync.SanitizeLogin(email), "email": email, "password": password,
			"first_name": "Own"},
		Roles: []string{"subscriber"}})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	t.Cleanup(func() {
		if err := r.wp.Users.Delete(context.Background(), u.ID, 0); err != nil && !errors.Is(err, wordpress.ErrNotFound) {
			t.Errorf("delete user %d: %v", u.ID, err)
		}
	})
	return u
}

// TestOwnUnlinkedUserRealWordPress: WordPress inserted our user but its link
// meta was never written (a slow user_register hook past the client timeout,
// a PHP fatal in between). The retry finds it by email and recognises it by
// the pending password (the plugin's password check): it is linked and the
// password goes to AC once. A user with the same email and another password
// is someone else's: linked by email, its password untouched, nothing sent.
func TestOwnUnlinkedUserRealWordPress(t *testing.T) {
	const pending = "Pend1ngPassw0rdXy"
	for _, tc := range []struct {
		name     string
		password string
		ours     bool
	}{{"ours", pending, true}, {"foreign", "Their-Own-Pw-123", false}} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRealSync(t)
			ctx := t.Context()
			email := wptest.UniqueEmail(t, "own-"+tc.name)
			id := r.ac.AddContact(acfake.Contact{ID: contactID(), Email: email, FirstName: "Olive", LastName: "Own"})
			u := r.createUser(t, email, tc.password)
			if err := r.pw.SavePendingPassword(ctx, id, pending); err != nil {
				t.Fatal(err)
			}
			for run := 1; run <= 2; run++ {
				res, err := r.s.Run(ctx, contactsync.Request{ContactID: id, Action: contactsync.ActionAdd})
				if err != nil {
					t.Fatalf("add %d: %v", run, err)
				}
				if res.UserID != u.ID || res.Created {
					t.Fatalf("add %d: %+v, want user %d linked", run, res, u.ID)
				}
			}
			got, err := r.wp.Users.Get(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.MetaString(contactIDKey) != id || got.FirstName != "Olive" {
				t.Errorf("user %d: contact id %q, first name %q; want linked to %s and refreshed", u.ID, got.MetaString(contactIDKey), got.FirstName, id)
			}
			if _, ok, _ := r.pw.PendingPassword(ctx, id); ok {
				t.Error("pending password kept")
			}
			if !r.site.CheckPassword(t, u.Username, tc.password) {
				t.Error("the user's password changed")
			}
			writes := r.ac.FieldWrites(id)
			if !tc.ours {
				if len(writes) != 0 {
					t.Errorf("AC field writes = %d for someone else's user, want 0", len(writes))
				}
				return
			}
			if len(writes) != 1 || writes[0].Field != r.passField || writes[0].Value != pending {
				t.Errorf("AC field writes = %d; want the pending password once", len(writes))
			}
		})
	}
}

// TestLookAlikeEmailRealWordPress: kate@example.com exists; a contact whose
// email has a Kelvin sign for the k (which WordPress's user search, through
// the database collation, finds kate for) is never linked to her.
func TestLookAlikeEmailRealWordPress(t *testing.T) {
	r := newRealSync(t)
	ctx := t.Context()
	kate := wptest.UniqueEmail(t, "kate")
	kelvin := "\u212A" + kate[1:]
	u := r.createUser(t, kate, "Kate-Own-Pw-123")
	id := r.ac.AddContact(acfake.Contact{ID: contactID(), Email: kelvin, FirstName: "Mallory"})

	_, err := r.s.Run(ctx, contactsync.Request{ContactID: id, Action: contactsync.ActionAdd})
	if !errors.Is(err, contactsync.ErrPermanent) {
		t.Errorf("add: err = %v, want a permanent failure (invalid email)", err)
	}
	for _, req := range []contactsync.Request{
		{ContactID: id, Action: contactsync.ActionUpdate, EmailHint: kelvin},
		{ContactID: id, Action: contactsync.ActionUpdate},
		{ContactID: id, Action: contactsync.ActionUpdateTags, EmailHint: kelvin, Tags: []string{"Evil"}, HasTags: true},
	} {
		res, err := r.s.Run(ctx, req)
		if err != nil || res.Status != contactsync.StatusIgnored {
			t.Errorf("%s (hint %v): %+v, %v; want ignored", req.Action, req.EmailHint != "", res, err)
		}
	}
	got, err := r.wp.Users.Get(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.MetaString(contactIDKey) != "" || got.FirstName != "Own" || len(got.MetaStrings("activecampaign_tags")) != 0 {
		t.Errorf("kate written: contact id %q, first name %q, tags %q", got.MetaString(contactIDKey), got.FirstName, got.MetaStrings("activecampaign_tags"))
	}
	if _, err := r.wp.Users.FindByEmail(ctx, kelvin); !errors.Is(err, wordpress.ErrNotFound) {
		t.Errorf("FindByEmail(look-alike) = %v, want ErrNotFound", err)
	}
	if _, err := r.s.Contacts.ContactByEmail(ctx, "k"+kelvin[len("\u212A"):]); !errors.Is(err, contactsync.ErrContactNotFound) {
		t.Errorf("ContactByEmail(kate) found the look-alike contact: %v", err)
	}
}
