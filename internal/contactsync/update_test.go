package contactsync

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
)

// annUser is a WordPress user linked to contact 42 and in step with ann().
func annUser(roles ...string) User {
	if roles == nil {
		roles = []string{"subscriber"}
	}
	return User{ID: 5, Login: "ann", Email: "ann@example.com", Roles: roles,
		Fields: map[string]string{"first_name": "Ann", "last_name": "Lee"},
		Meta:   map[string]any{cidKey: "42", tagsKey: []string{"VIP"}, "phone_number": "555-0101"}}
}

// withCaps grants u capabilities directly, beyond its roles.
func withCaps(u User, caps ...string) User {
	u.ExtraCaps = caps
	return u
}

// withoutRole takes every role from u.
func withoutRole(u User) User {
	u.Roles = nil
	return u
}

func TestSyncer_Update(t *testing.T) {
	mapping := func(ms ...Mapping) func(*Policy) {
		return func(p *Policy) { p.FieldMap = append(p.FieldMap, ms...) }
	}
	phone := Mapping{Target: "phone_number", Source: "phone"}
	email := Mapping{Target: "user_email", Source: "email"}
	pass := Mapping{Target: "user_pass", Source: "field:7"}
	tests := []struct {
		name    string
		policy  func(*Policy)
		contact func(*Contact)
		user    User
		req     Request
		// want is the single Update expected; nil: no Update call.
		want     *Change
		warn     bool
		acCalls  int // AC requests expected
		contacts int // of which Contact
	}{
		{name: "nothing changed, no update", policy: mapping(phone, email), user: annUser(),
			req: Request{Tags: []string{"VIP"}, HasTags: true}, acCalls: 1, contacts: 1},
		{name: "only the changed field is written", policy: mapping(phone), user: annUser(),
			contact: func(c *Contact) { c.LastName = "Park"; c.Phone = "555-0199" },
			req:     Request{Tags: []string{"VIP"}, HasTags: true}, acCalls: 1, contacts: 1,
			want: &Change{Fields: map[string]string{"last_name": "Park"}, Meta: map[string]any{"phone_number": "555-0199"}}},
		{name: "tags from AC without payload tags", user: annUser(), acCalls: 2, contacts: 1,
			want: &Change{Meta: map[string]any{tagsKey: []string{"Customer", "VIP"}}}},
		{name: "email change", policy: mapping(email), user: annUser(),
			contact: func(c *Contact) { c.Email = "ann@new.example" },
			req:     Request{Tags: []string{"VIP"}, HasTags: true}, acCalls: 1, contacts: 1,
			want: &Change{Fields: map[string]string{"user_email": "ann@new.example"}}},
		{name: "invalid mapped email ignored", policy: mapping(Mapping{Target: "user_email", Source: "field:10"}), user: annUser(),
			req: Request{Tags: []string{"VIP"}, HasTags: true}, acCalls: 1, contacts: 1, warn: true},
		{name: "mapped user_pass sets the password", policy: mapping(pass), user: annUser(),
			req: Request{Tags: []string{"VIP"}, HasTags: true}, acCalls: 1, contacts: 1,
			want: &Change{Fields: map[string]string{"user_pass": "MappedPass99"}}},
		{name: "allowed url role applied", user: annUser(),
			req: Request{Role: "customer", Tags: []string{"VIP"}, HasTags: true}, acCalls: 1, contacts: 1,
			want: &Change{Roles: []string{"customer"}}},
		{name: "same role not rewritten", user: annUser("customer"),
			req: Request{Role: "Customer", Tags: []string{"VIP"}, HasTags: true}, acCalls: 1, contacts: 1},
		{name: "disallowed url role not applied", user: annUser(),
			req: Request{Role: "editor", Tags: []string{"VIP"}, HasTags: true}, acCalls: 1, contacts: 1, warn: true},
		{name: "administrator never applied", user: annUser(),
			policy: func(p *Policy) { p.AllowedRoles = append(p.AllowedRoles, "administrator") },
			req:    Request{Role: "administrator", Tags: []string{"VIP"}, HasTags: true}, acCalls: 1, contacts: 1, warn: true},
		{name: "mapped role beats url role", policy: mapping(Mapping{Target: "role", Source: "field:20"}), user: annUser(),
			contact: func(c *Contact) { c.Fields["20"] = "Customer" },
			req:     Request{Role: "subscriber", Tags: []string{"VIP"}, HasTags: true}, acCalls: 1, contacts: 1,
			want: &Change{Roles: []string{"customer"}}},
		{name: "mapped user_login never changes the login", policy: mapping(Mapping{Target: "user_login", Source: "field:5"}), user: annUser(),
			req: Request{Tags: []string{"VIP"}, HasTags: true}, acCalls: 1, contacts: 1},
		{name: "editor: tags and meta only", policy: mapping(phone, email, pass), user: annUser("editor"),
			contact: func(c *Contact) { c.Email = "ann@new.example"; c.LastName = "Park"; c.Phone = "555-0199" },
			req:     Request{Role: "customer", Tags: []string{"VIP", "Gold"}, HasTags: true}, acCalls: 1, contacts: 1, warn: true,
			want: &Change{Meta: map[string]any{"phone_number": "555-0199", tagsKey: []string{"VIP", "Gold"}}}},
		{name: "administrator: tags and meta only", policy: mapping(phone, email, pass), user: annUser("administrator"),
			contact: func(c *Contact) { c.Email = "ann@new.example"; c.FirstName = "Eve"; c.Phone = "555-0199" },
			req:     Request{Role: "subscriber", Tags: []string{"VIP", "Gold"}, HasTags: true}, acCalls: 1, contacts: 1, warn: true,
			want: &Change{Meta: map[string]any{"phone_number": "555-0199", tagsKey: []string{"VIP", "Gold"}}}},
		{name: "subscriber with a capability granted directly: tags and meta only", policy: mapping(phone, email, pass), user: withCaps(annUser(), "manage_options"),
			contact: func(c *Contact) { c.Email = "ann@new.example"; c.FirstName = "Eve"; c.Phone = "555-0199" },
			req:     Request{Role: "customer", Tags: []string{"VIP", "Gold"}, HasTags: true}, acCalls: 1, contacts: 1, warn: true,
			want: &Change{Meta: map[string]any{"phone_number": "555-0199", tagsKey: []string{"VIP", "Gold"}}}},
		{name: "user without a role: tags and meta only", policy: mapping(phone, email, pass), user: withoutRole(annUser()),
			contact: func(c *Contact) { c.Email = "ann@new.example"; c.FirstName = "Eve"; c.Phone = "555-0199" },
			req:     Request{Role: "customer", Tags: []string{"VIP", "Gold"}, HasTags: true}, acCalls: 1, contacts: 1, warn: true,
			want: &Change{Meta: map[string]any{"phone_number": "555-0199", tagsKey: []string{"VIP", "Gold"}}}},
		{name: "unmanaged user with nothing to skip: no warning", user: withoutRole(annUser()),
			req: Request{Tags: []string{"VIP"}, HasTags: true}, acCalls: 1, contacts: 1},
		{name: "multiselect meta as a list", policy: mapping(Mapping{Target: "interests", Source: "%INTERESTS%"}), user: annUser(),
			req: Request{Tags: []string{"VIP"}, HasTags: true}, acCalls: 2, contacts: 1, // + FieldID
			want: &Change{Meta: map[string]any{"interests": []string{"Golf", "Tennis"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy()
			if tt.policy != nil {
				tt.policy(&p)
			}
			c := ann()
			if tt.contact != nil {
				tt.contact(c)
			}
			e := newEnv(p, c)
			e.ac.tags["42"] = []string{"Customer", "VIP"}
			e.wp.seed(tt.user, "old-secret")
			req := tt.req
			req.ContactID, req.Action = "42", ActionUpdate
			res := mustRun(t, e.s, req)
			if res.Status != StatusDone || res.UserID != 5 {
				t.Errorf("result = %+v", res)
			}
			if got := e.ac.count(""); got != tt.acCalls {
				t.Errorf("AC calls = %d %q, want %d", got, e.ac.calls, tt.acCalls)
			}
			if got := e.ac.count("Contact"); got != tt.contacts {
				t.Errorf("AC Contact calls = %d, want %d", got, tt.contacts)
			}
			if (len(res.Warnings) > 0) != tt.warn {
				t.Errorf("warnings = %q, want warning %v", res.Warnings, tt.warn)
			}
			if e.wp.count("Create") != 0 || e.pw.saves != 0 {
				t.Error("update created a user or a password")
			}
			if tt.want == nil {
				if len(e.wp.updates) != 0 {
					t.Errorf("Update called writing %q, want no call", describe(e.wp.updates[0].ch, tagsKey))
				}
				return
			}
			if len(e.wp.updates) != 1 {
				t.Fatalf("Update calls = %d, want 1", len(e.wp.updates))
			}
			checkChange(t, e.wp.updates[0].ch, *tt.want)
		})
	}
}

// checkChange compares two changes, without printing field values (one may be a password).
func checkChange(t *testing.T, got, want Change) {
	t.Helper()
	if !maps.Equal(got.Fields, want.Fields) {
		t.Errorf("fields written: %q, want %q", slices.Sorted(maps.Keys(got.Fields)), slices.Sorted(maps.Keys(want.Fields)))
	}
	if !slices.Equal(got.Roles, want.Roles) || (got.Roles == nil) != (want.Roles == nil) {
		t.Errorf("roles = %q, want %q", got.Roles, want.Roles)
	}
	if len(got.Meta) != len(want.Meta) {
		t.Errorf("meta = %v, want %v", got.Meta, want.Meta)
	}
	for k, w := range want.Meta {
		g, ok := got.Meta[k]
		if !ok || (w == nil) != (g == nil) || (w != nil && !metaEqual(g, w)) {
			t.Errorf("meta[%s] = %#v, want %#v", k, g, w)
		}
	}
	if got.SendNotification != want.SendNotification {
		t.Errorf("SendNotification = %v", got.SendNotification)
	}
}

func TestSyncer_Update_Lookup(t *testing.T) {
	t.Run("no user is ignored", func(t *testing.T) {
		e := newEnv(testPolicy(), ann())
		e.wp.seed(User{ID: 5, Email: "other@example.com", Meta: map[string]any{cidKey: "41"}}, "x")
		res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionUpdate})
		if res.Status != StatusIgnored || len(e.wp.updates) != 0 || e.wp.count("Create") != 0 {
			t.Errorf("result %+v, updates %d", res, len(e.wp.updates))
		}
	})
	t.Run("no user with the payload email: ignored without an AC call", func(t *testing.T) {
		e := newEnv(testPolicy(), ann())
		res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionUpdate, EmailHint: "ann@example.com"})
		if res.Status != StatusIgnored || e.ac.count("") != 0 {
			t.Errorf("result %+v, AC calls %q: want ignored with none", res, e.ac.calls)
		}
	})
	// An unlinked user with the contact's email is linked, whether the email
	// comes with the payload or from the contact; the contact is loaded once.
	for _, hint := range []string{"ann@example.com", ""} {
		t.Run("unlinked user with the email is linked, hint "+hint, func(t *testing.T) {
			e := newEnv(testPolicy(), ann())
			u := annUser()
			delete(u.Meta, cidKey)
			e.wp.seed(u, "x")
			res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionUpdate, EmailHint: hint, Tags: []string{"VIP"}, HasTags: true})
			if res.UserID != 5 || e.wp.user(5).Meta[cidKey] != "42" || e.ac.count("Contact") != 1 {
				t.Errorf("result %+v, AC calls %q: user 5 not linked, or contact not loaded once", res, e.ac.calls)
			}
		})
	}
	t.Run("lowest id wins among linked users", func(t *testing.T) {
		e := newEnv(testPolicy(), ann())
		u := annUser()
		u.ID, u.Email = 8, "dup@example.com"
		e.wp.seed(u, "x")
		e.wp.seed(annUser(), "x")
		res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionUpdate, Tags: []string{"VIP"}, HasTags: true})
		if res.UserID != 5 {
			t.Errorf("acted on user %d, want 5", res.UserID)
		}
	})
	t.Run("contact gone: relinked by email", func(t *testing.T) {
		merged := ann()
		merged.ID, merged.LastName = "77", "Park"
		e := newEnv(testPolicy(), merged)
		e.ac.tags["77"] = []string{"Merged"}
		e.wp.seed(annUser(), "x")
		res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionUpdate, Tags: []string{"Old"}, HasTags: true})
		u := e.wp.user(5)
		if u.Meta[cidKey] != "77" || !hasString(res.Changes, "relinked") {
			t.Errorf("contact id meta = %v, changes %q: want relinked to 77", u.Meta[cidKey], res.Changes)
		}
		if u.Fields["last_name"] != "Park" {
			t.Errorf("last_name = %q, want the surviving contact's", u.Fields["last_name"])
		}
		if got, _ := u.Meta[tagsKey].([]string); !slices.Equal(got, []string{"Merged"}) {
			t.Errorf("tags = %#v, want the surviving contact's (payload tags were the old id's)", u.Meta[tagsKey])
		}
		if n := e.ac.count("ContactByEmail"); n != 1 {
			t.Errorf("ContactByEmail calls = %d", n)
		}
		if len(e.wp.updates) != 1 {
			t.Errorf("Update calls = %d, want 1", len(e.wp.updates))
		}
	})
	for _, tc := range []struct {
		name string
		seed bool
	}{{"contact gone, no contact has the email", true}, {"contact gone, no user", false}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(testPolicy())
			if tc.seed {
				e.wp.seed(annUser(), "x")
			}
			_, err := e.s.Run(context.Background(), Request{ContactID: "42", Action: ActionUpdate})
			if !errors.Is(err, ErrPermanent) {
				t.Errorf("err = %v, want permanent", err)
			}
			if len(e.wp.updates) != 0 {
				t.Error("user updated")
			}
		})
	}
	t.Run("transient errors are not permanent", func(t *testing.T) {
		for _, m := range []string{"Contact", "ContactByEmail", "TagNames"} {
			e := newEnv(testPolicy(), ann())
			if m == "ContactByEmail" {
				delete(e.ac.contacts, "42")
			}
			e.wp.seed(annUser(), "x")
			e.ac.fail = failOn(m, -1, errTransient)
			_, err := e.s.Run(context.Background(), Request{ContactID: "42", Action: ActionUpdate})
			if err == nil || errors.Is(err, ErrPermanent) || !errors.Is(err, errTransient) {
				t.Errorf("%s failing: err = %v, want retryable", m, err)
			}
		}
	})
}

func TestSyncer_UpdateTags(t *testing.T) {
	tests := []struct {
		name    string
		seed    *User
		req     Request
		acTags  []string
		status  string
		want    *Change // nil: no Update
		acCalls int
	}{
		{name: "payload tags, no AC call", seed: ptr(annUser()),
			req:  Request{Tags: []string{"VIP", "Gold"}, HasTags: true},
			want: &Change{Meta: map[string]any{tagsKey: []string{"VIP", "Gold"}}}, status: StatusDone},
		{name: "no payload tags: loaded from AC", seed: ptr(annUser()), acTags: []string{"A", "B"}, acCalls: 1,
			want: &Change{Meta: map[string]any{tagsKey: []string{"A", "B"}}}, status: StatusDone},
		{name: "same tags: no update", seed: ptr(annUser()), req: Request{Tags: []string{"VIP"}, HasTags: true}, status: StatusDone},
		{name: "empty list deletes the meta", seed: ptr(annUser()), req: Request{HasTags: true},
			want: &Change{Meta: map[string]any{tagsKey: nil}}, status: StatusDone},
		{name: "empty list, no meta: no update", seed: &User{ID: 5, Email: "ann@example.com", Meta: map[string]any{cidKey: "42"}},
			req: Request{HasTags: true}, status: StatusDone},
		{name: "no linked user: ignored", req: Request{Tags: []string{"VIP"}, HasTags: true}, status: StatusIgnored},
		{name: "no linked user, no payload tags: ignored without AC call", status: StatusIgnored},
		{name: "email hint links once AC agrees", seed: &User{ID: 5, Email: "ann@example.com", Roles: []string{"administrator"}},
			req: Request{Tags: []string{"VIP"}, HasTags: true, EmailHint: "ANN@example.com"}, acCalls: 1,
			want: &Change{Meta: map[string]any{cidKey: "42", tagsKey: []string{"VIP"}}}, status: StatusDone},
		{name: "email hint of another contact's user: ignored", seed: &User{ID: 5, Email: "victim@example.com"},
			req: Request{Tags: []string{"VIP"}, HasTags: true, EmailHint: "victim@example.com"}, acCalls: 1, status: StatusIgnored},
		{name: "email hint without match: ignored", seed: &User{ID: 5, Email: "joann@example.com"},
			req: Request{Tags: []string{"VIP"}, HasTags: true, EmailHint: "ann@example.com"}, status: StatusIgnored},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(testPolicy(), ann())
			e.ac.tags["42"] = tt.acTags
			if tt.seed != nil {
				e.wp.seed(*tt.seed, "x")
			}
			req := tt.req
			req.ContactID, req.Action = "42", ActionUpdateTags
			res := mustRun(t, e.s, req)
			if res.Status != tt.status {
				t.Errorf("status = %q (%s), want %q", res.Status, res.Message, tt.status)
			}
			if got := e.ac.count(""); got != tt.acCalls {
				t.Errorf("AC calls = %q, want %d", e.ac.calls, tt.acCalls)
			}
			if tt.want == nil {
				if len(e.wp.updates) != 0 {
					t.Errorf("Update called writing %q", describe(e.wp.updates[0].ch, tagsKey))
				}
				return
			}
			if len(e.wp.updates) != 1 {
				t.Fatalf("Update calls = %d, want 1", len(e.wp.updates))
			}
			checkChange(t, e.wp.updates[0].ch, *tt.want)
			u := e.wp.user(5)
			if v, ok := tt.want.Meta[tagsKey]; ok && v == nil {
				if _, still := u.Meta[tagsKey]; still {
					t.Error("tags meta not deleted")
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
