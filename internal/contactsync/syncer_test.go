package contactsync

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// onlyCreated returns the one user Create stored, failing if there is not exactly one.
func onlyCreated(t *testing.T, e *env) *User {
	t.Helper()
	e.wp.mu.Lock()
	var ids []int64
	for id := range e.wp.users {
		if id > 100 { // seeded users have ids below 100
			ids = append(ids, id)
		}
	}
	e.wp.mu.Unlock()
	if len(ids) != 1 {
		t.Fatalf("created %d users, want 1", len(ids))
	}
	return e.wp.user(ids[0])
}

// checkReturned asserts that the user's password went to AC exactly once, to fieldID.
func checkReturned(t *testing.T, e *env, u *User, contactID, fieldID string) {
	t.Helper()
	if len(e.ac.writes) != 1 {
		t.Fatalf("AC SetField calls = %d, want 1", len(e.ac.writes))
	}
	w := e.ac.writes[0]
	if w.contactID != contactID || w.fieldID != fieldID {
		t.Errorf("password written to contact %s field %s, want contact %s field %s", w.contactID, w.fieldID, contactID, fieldID)
	}
	if w.value != e.wp.passwords[u.ID] {
		t.Error("password written to AC differs from the user's password")
	}
	if _, ok := e.pw.pending(contactID); ok {
		t.Error("pending password not deleted after it reached AC")
	}
}

func checkNotReturned(t *testing.T, e *env, res Result) {
	t.Helper()
	if n := e.ac.count("SetField"); n != 0 {
		t.Errorf("AC SetField calls = %d, want 0", n)
	}
	if hasString(res.Changes, "password_returned") {
		t.Error("result says password_returned")
	}
	if len(e.pw.m) != 0 {
		t.Error("a pending password was left behind")
	}
}

func TestSyncer_Add_Create(t *testing.T) {
	field := func(target, source string) func(*Policy) {
		return func(p *Policy) { p.FieldMap = append(p.FieldMap, Mapping{Target: target, Source: source}) }
	}
	tests := []struct {
		name    string
		policy  func(*Policy)
		contact func(*Contact)
		seed    []User
		req     Request
		check   func(t *testing.T, e *env, u *User, res Result)
	}{
		{name: "login is the email, generated password returned", check: func(t *testing.T, e *env, u *User, res Result) {
			if u.Login != "ann@example.com" || u.Email != "ann@example.com" {
				t.Errorf("login, email = %q, %q", u.Login, u.Email)
			}
			if !slices.Equal(u.Roles, []string{"subscriber"}) {
				t.Errorf("roles = %q", u.Roles)
			}
			if u.Fields["first_name"] != "Ann" || u.Fields["last_name"] != "Lee" {
				t.Errorf("fields = %v", u.Fields)
			}
			if u.Meta[cidKey] != "42" {
				t.Errorf("contact id meta = %v", u.Meta[cidKey])
			}
			if pw := e.wp.passwords[u.ID]; len(pw) != 16 || !alnum.MatchString(pw) {
				t.Errorf("generated password: length %d, letters and digits only: %v", len(pw), alnum.MatchString(pw))
			}
			checkReturned(t, e, u, "42", "12")
			if !res.Created || res.UserID != u.ID || res.Status != StatusDone || !hasString(res.Changes, "password_returned") {
				t.Errorf("result = %+v", res)
			}
			if e.wp.count("Create") != 1 || e.wp.count("Update") != 0 {
				t.Errorf("WordPress calls: %v", e.wp.calls)
			}
			if e.pw.saves != 1 {
				t.Errorf("pending password saved %d times, want 1 (before the create)", e.pw.saves)
			}
		}},
		{name: "plus and other characters stripped from the login",
			contact: func(c *Contact) { c.Email = "dave+tag@example.com"; c.FirstName = "Dave" },
			check: func(t *testing.T, e *env, u *User, res Result) {
				if u.Login != "davetag@example.com" || u.Email != "dave+tag@example.com" {
					t.Errorf("login, email = %q, %q", u.Login, u.Email)
				}
			}},
		{name: "flname", policy: func(p *Policy) { p.UsernameFormat = "flname" },
			check: func(t *testing.T, e *env, u *User, res Result) {
				if u.Login != "AnnLee" {
					t.Errorf("login = %q, want AnnLee", u.Login)
				}
			}},
		{name: "fnamenum", policy: func(p *Policy) { p.UsernameFormat = "fnamenum" },
			check: func(t *testing.T, e *env, u *User, res Result) {
				if !regexp.MustCompile(`^Ann[1-9][0-9]{0,4}$`).MatchString(u.Login) {
					t.Errorf("login = %q, want Ann + 1..99999", u.Login)
				}
			}},
		{name: "taken login gets a suffix",
			seed: []User{{ID: 7, Login: "ann@example.com", Email: "someone@example.com", Roles: []string{"subscriber"}}},
			check: func(t *testing.T, e *env, u *User, res Result) {
				if !regexp.MustCompile(`^ann@example\.com[1-9][0-9]{0,2}$`).MatchString(u.Login) {
					t.Errorf("login = %q, want ann@example.com + 1..999", u.Login)
				}
				if e.wp.count("Create") != 2 {
					t.Errorf("Create calls = %d, want 2", e.wp.count("Create"))
				}
				checkReturned(t, e, u, "42", "12")
			}},
		{name: "mapped user_login", policy: field("user_login", "field:5"),
			check: func(t *testing.T, e *env, u *User, res Result) {
				if u.Login != "ann.custom" {
					t.Errorf("login = %q, want ann.custom", u.Login)
				}
			}},
		{name: "mapped user_login taken gets a suffix", policy: field("user_login", "field:5"),
			seed: []User{{ID: 7, Login: "ann.custom", Email: "someone@example.com"}},
			check: func(t *testing.T, e *env, u *User, res Result) {
				if !regexp.MustCompile(`^ann\.custom[1-9][0-9]{0,2}$`).MatchString(u.Login) {
					t.Errorf("login = %q, want ann.custom + 1..999", u.Login)
				}
			}},
		{name: "mapped user_pass used and not returned", policy: field("user_pass", "field:7"),
			check: func(t *testing.T, e *env, u *User, res Result) {
				if e.wp.passwords[u.ID] != "MappedPass99" {
					t.Error("user's password is not the mapped one")
				}
				checkNotReturned(t, e, res)
				if e.pw.saves != 0 {
					t.Error("mapped password stored as pending")
				}
			}},
		{name: "return field by personalization tag", policy: func(p *Policy) { p.ReturnPasswordField = "%PASSWORD%" },
			check: func(t *testing.T, e *env, u *User, res Result) { checkReturned(t, e, u, "42", "12") }},
		{name: "return off", policy: func(p *Policy) { p.ReturnPasswordField = "" },
			check: func(t *testing.T, e *env, u *User, res Result) {
				if pw := e.wp.passwords[u.ID]; len(pw) != 16 {
					t.Errorf("password length = %d, want 16", len(pw))
				}
				checkNotReturned(t, e, res)
			}},
		{name: "PASSWORD_LENGTH", policy: func(p *Policy) { p.PasswordLength = 24 },
			check: func(t *testing.T, e *env, u *User, res Result) {
				if pw := e.wp.passwords[u.ID]; len(pw) != 24 || !alnum.MatchString(pw) {
					t.Errorf("password length = %d, want 24 letters and digits", len(pw))
				}
			}},
		{name: "send notification", req: Request{SendNotification: true},
			check: func(t *testing.T, e *env, u *User, res Result) {
				if !e.wp.creates[0].SendNotification || !slices.Equal(e.wp.notified, []int64{u.ID}) {
					t.Errorf("notification not asked for in the create request")
				}
			}},
		{name: "no notification unless asked",
			check: func(t *testing.T, e *env, u *User, res Result) {
				if e.wp.creates[0].SendNotification || len(e.wp.notified) != 0 {
					t.Errorf("notification sent without being asked")
				}
			}},
		{name: "tags and mapped meta in the create request",
			policy: func(p *Policy) {
				p.FieldMap = append(p.FieldMap, Mapping{"phone_number", "phone"}, Mapping{"billing_company", "orgname"},
					Mapping{"interests", "field:9"}, Mapping{"company_size", "%COMPANY_SIZE%"}, Mapping{"empty_one", "field:11"},
					Mapping{"description", "field:10"})
			},
			req: Request{Tags: []string{"VIP", "Buyer, 2024"}, HasTags: true},
			check: func(t *testing.T, e *env, u *User, res Result) {
				m := e.wp.creates[0].Meta
				if got, _ := m["interests"].([]string); !slices.Equal(got, []string{"Golf", "Tennis"}) {
					t.Errorf("interests = %#v, want [Golf Tennis]", m["interests"])
				}
				if m["company_size"] != "50-99" || m["phone_number"] != "555-0101" || m["billing_company"] != "Acme" {
					t.Errorf("meta = %v", m)
				}
				if _, ok := m["empty_one"]; ok {
					t.Error("empty AC field written as meta")
				}
				if got, _ := m[tagsKey].([]string); !slices.Equal(got, []string{"VIP", "Buyer, 2024"}) {
					t.Errorf("tags = %#v", m[tagsKey])
				}
				if e.wp.creates[0].Fields["description"] != "50-99" {
					t.Errorf("core field description = %q", e.wp.creates[0].Fields["description"])
				}
				if e.ac.count("TagNames") != 0 || e.wp.count("Update") != 0 {
					t.Errorf("extra calls: AC %v, WP %v", e.ac.calls, e.wp.calls)
				}
			}},
		{name: "tags loaded from AC without payload tags",
			check: func(t *testing.T, e *env, u *User, res Result) {
				if got, _ := u.Meta[tagsKey].([]string); !slices.Equal(got, []string{"Customer", "VIP"}) {
					t.Errorf("tags = %#v", u.Meta[tagsKey])
				}
				if e.ac.count("TagNames") != 1 {
					t.Errorf("TagNames calls = %d", e.ac.count("TagNames"))
				}
			}},
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
			for _, u := range tt.seed {
				e.wp.seed(u, "old-secret")
			}
			req := tt.req
			req.ContactID, req.Action = "42", ActionAdd
			res := mustRun(t, e.s, req)
			tt.check(t, e, onlyCreated(t, e), res)
		})
	}
}

func TestSyncer_Add_Role(t *testing.T) {
	tests := []struct {
		name, mapped, url, want string
		warn                    bool
	}{
		{"default", "", "", "subscriber", false},
		{"url role", "", "customer", "customer", false},
		{"mapped beats url", "Customer", "subscriber", "customer", false},
		{"url not allowed", "", "editor", "subscriber", true},
		{"url administrator", "", "administrator", "subscriber", true},
		{"mapped administrator", "administrator", "customer", "subscriber", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy()
			p.FieldMap = append(p.FieldMap, Mapping{Target: "role", Source: "field:20"})
			c := ann()
			c.Fields["20"] = tt.mapped
			e := newEnv(p, c)
			res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd, Role: tt.url})
			u := onlyCreated(t, e)
			if !slices.Equal(u.Roles, []string{tt.want}) {
				t.Errorf("roles = %q, want [%s]", u.Roles, tt.want)
			}
			if (len(res.Warnings) > 0) != tt.warn {
				t.Errorf("warnings = %q, want warning %v", res.Warnings, tt.warn)
			}
		})
	}
}

func TestSyncer_Add_Existing(t *testing.T) {
	linked := User{ID: 5, Login: "ann", Email: "old@example.com", Roles: []string{"subscriber"},
		Fields: map[string]string{"first_name": "Ann", "last_name": "Old"}, Meta: map[string]any{cidKey: "42"}}
	byEmail := User{ID: 6, Login: "ann2", Email: "ann@example.com", Roles: []string{"subscriber"},
		Fields: map[string]string{"first_name": "Ann", "last_name": "Lee"}}
	admin := User{ID: 6, Login: "boss", Email: "ann@example.com", Roles: []string{"administrator"},
		Fields: map[string]string{"first_name": "Boss", "last_name": "Person"}}
	tests := []struct {
		name  string
		seed  []User
		role  string
		want  int64 // user acted on
		check func(t *testing.T, e *env, u *User, res Result)
	}{
		{name: "linked by contact id wins over email", seed: []User{linked, byEmail}, want: 5,
			check: func(t *testing.T, e *env, u *User, res Result) {
				if u.Fields["last_name"] != "Lee" {
					t.Errorf("last_name = %q, want refreshed to Lee", u.Fields["last_name"])
				}
				if e.wp.user(6).Meta[cidKey] != nil {
					t.Error("the email match was linked too")
				}
			}},
		{name: "found by exact email is linked", seed: []User{byEmail}, want: 6,
			check: func(t *testing.T, e *env, u *User, res Result) {
				if u.Meta[cidKey] != "42" {
					t.Errorf("contact id meta = %v, want 42", u.Meta[cidKey])
				}
				if got, _ := u.Meta[tagsKey].([]string); !slices.Equal(got, []string{"VIP"}) {
					t.Errorf("tags = %#v", u.Meta[tagsKey])
				}
				if !hasString(res.Changes, "linked") {
					t.Errorf("changes = %q, want linked", res.Changes)
				}
			}},
		{name: "linked user gets an allowed url role", seed: []User{linked}, role: "customer", want: 5,
			check: func(t *testing.T, e *env, u *User, res Result) {
				if !slices.Equal(u.Roles, []string{"customer"}) {
					t.Errorf("roles = %q", u.Roles)
				}
			}},
		{name: "administrator found by email: tags and link only", seed: []User{admin}, role: "customer", want: 6,
			check: func(t *testing.T, e *env, u *User, res Result) {
				if !slices.Equal(u.Roles, []string{"administrator"}) || u.Fields["first_name"] != "Boss" {
					t.Errorf("protected user changed: roles %q, fields %v", u.Roles, u.Fields)
				}
				if u.Meta[cidKey] != "42" || u.Meta[tagsKey] == nil {
					t.Errorf("meta = %v, want link and tags", u.Meta)
				}
				if len(res.Warnings) == 0 {
					t.Error("no warning about the role not applied")
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(testPolicy(), ann())
			e.ac.tags["42"] = []string{"VIP"}
			for _, u := range tt.seed {
				e.wp.seed(u, "old-secret")
			}
			res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd, Role: tt.role})
			if res.UserID != tt.want || res.Created {
				t.Errorf("result user %d created %v, want user %d, not created", res.UserID, res.Created, tt.want)
			}
			if n := e.wp.count("Create"); n != 0 {
				t.Errorf("Create calls = %d, want 0", n)
			}
			// The one request that finds or creates the user carries a planned
			// password; once the user is found it must be dropped, never kept.
			if _, ok := e.pw.pending("42"); ok {
				t.Error("a password generated for the create stays pending for an existing user")
			}
			checkNotReturned(t, e, res)
			u := e.wp.user(tt.want)
			if e.wp.passwords[u.ID] != "old-secret" {
				t.Error("existing user's password changed")
			}
			tt.check(t, e, u, res)
		})
	}
}

func TestSyncer_Add_Errors(t *testing.T) {
	tests := []struct {
		name      string
		contact   func(*Contact)
		policy    func(*Policy)
		setup     func(e *env)
		permanent bool
		cause     error
	}{
		{name: "no email", contact: func(c *Contact) { c.Email = "" }, permanent: true},
		{name: "invalid email", contact: func(c *Contact) { c.Email = "not-an-email" }, permanent: true},
		{name: "email with display name", contact: func(c *Contact) { c.Email = "Ann <ann@example.com>" }, permanent: true},
		{name: "contact 404", setup: func(e *env) { delete(e.ac.contacts, "42") }, permanent: true},
		{name: "unknown FIELD_MAP perstag", policy: func(p *Policy) {
			p.FieldMap = append(p.FieldMap, Mapping{Target: "x", Source: "%NOPE%"})
		}, permanent: true},
		{name: "AC transient", setup: func(e *env) { e.ac.fail = failOn("Contact", -1, errTransient) }, cause: errTransient},
		{name: "FindByMeta transient", setup: func(e *env) { e.wp.fail = failOn("FindByMeta", -1, errTransient) }, cause: errTransient},
		{name: "FindByEmail transient", setup: func(e *env) { e.wp.fail = failOn("FindByEmail", -1, errTransient) }, cause: errTransient},
		{name: "Create transient", setup: func(e *env) { e.wp.fail = failOn("Create", -1, errTransient) }, cause: errTransient},
		{name: "TagNames transient", setup: func(e *env) { e.ac.fail = failOn("TagNames", -1, errTransient) }, cause: errTransient},
		{name: "pending store transient", setup: func(e *env) { e.pw.fail = failOn("SavePendingPassword", -1, errTransient) }, cause: errTransient},
		{name: "logins always taken", setup: func(e *env) { e.wp.fail = failOn("Create", -1, ErrLoginTaken) }, cause: ErrLoginTaken},
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
			if tt.setup != nil {
				tt.setup(e)
			}
			_, err := e.s.Run(context.Background(), Request{ContactID: "42", Action: ActionAdd})
			if err == nil {
				t.Fatal("Run succeeded")
			}
			if got := errors.Is(err, ErrPermanent); got != tt.permanent {
				t.Errorf("permanent = %v, want %v (err: %v)", got, tt.permanent, err)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("err = %v, want it to wrap %v", err, tt.cause)
			}
			if len(e.wp.users) != 0 {
				t.Error("a user was created")
			}
			if n := e.wp.count("Create"); n > 11 {
				t.Errorf("Create tried %d times", n)
			}
		})
	}
	t.Run("bad requests", func(t *testing.T) {
		e := newEnv(testPolicy(), ann())
		for _, req := range []Request{{Action: ActionAdd}, {ContactID: "42", Action: "delete"}} {
			if _, err := e.s.Run(context.Background(), req); !errors.Is(err, ErrPermanent) {
				t.Errorf("Run(%+v) err = %v, want permanent", req, err)
			}
		}
	})
}

// TestSyncer_Add_SecretsNotInErrors fails every step after the password
// exists and checks that no error carries it.
func TestSyncer_Add_SecretsNotInErrors(t *testing.T) {
	for _, method := range []string{"FieldID", "SetField"} {
		t.Run(method, func(t *testing.T) {
			e := newEnv(testPolicy(), ann())
			e.ac.fail = failOn(method, -1, errTransient)
			_, err := e.s.Run(context.Background(), Request{ContactID: "42", Action: ActionAdd})
			if err == nil || errors.Is(err, ErrPermanent) {
				t.Fatalf("err = %v, want a retryable error", err)
			}
			pw, ok := e.pw.pending("42")
			if !ok || strings.Contains(err.Error(), pw) {
				t.Error("pending password missing, or present in the error message")
			}
		})
	}
	t.Run("email taken on update", func(t *testing.T) {
		p := testPolicy()
		p.FieldMap = append(p.FieldMap, Mapping{Target: "user_email", Source: "email"}, Mapping{Target: "user_pass", Source: "field:7"})
		e := newEnv(p, ann())
		e.wp.seed(User{ID: 5, Email: "old@example.com", Roles: []string{"subscriber"}, Meta: map[string]any{cidKey: "42"}}, "x")
		e.wp.seed(User{ID: 6, Email: "ann@example.com", Roles: []string{"subscriber"}}, "y")
		_, err := e.s.Run(context.Background(), Request{ContactID: "42", Action: ActionUpdate})
		if !errors.Is(err, ErrPermanent) || strings.Contains(err.Error(), "MappedPass99") {
			t.Errorf("err = %v, want permanent without the password", err)
		}
	})
}
