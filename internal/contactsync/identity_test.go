package contactsync

// Linking is by identity: a user is linked to a contact only when its email
// equals (ASCII case only) the contact's email in AC, or when it holds the
// password generated for that contact.

import (
	"context"
	"errors"
	"testing"
)

func TestValidEmail(t *testing.T) {
	for _, tt := range []struct {
		email string
		want  bool
	}{
		{"ann@example.com", true},
		{"Ann.Lee+news@mail.example.co.uk", true},
		{"o'brien@example.com", true},
		{"a-b_c@ex-ample.com", true},
		{"\u212Aate@example.com", false}, // Kelvin sign: is_email refuses non-ASCII
		{"kåte@example.com", false},
		{"kate@exämple.com", false},
		{"kate@xn--exmple-cua.com", true},
		{"a@b.c", false}, // under 6 bytes
		{"ann.example.com", false},
		{"@example.com", false},
		{"ann@localhost", false},    // one label
		{"ann@-example.com", false}, // label starts with a hyphen
		{"ann@example-.com", false},
		{"ann@example..com", false},
		{"ann@.example.com", false},
		{"ann@example.com.", false},
		{"ann@exa_mple.com", false},
		{"ann@ex@ample.com", false},
		{"a n@example.com", false},
		{"ann@example.com ", false},
		{"ann@example.com\n", false},
		{"Ann <ann@example.com>", false},
		{"(x)ann@example.com", false},
		{"", false},
	} {
		if got := validEmail(tt.email); got != tt.want {
			t.Errorf("validEmail(%q) = %v, want %v", tt.email, got, tt.want)
		}
	}
}

func TestSameEmail(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"kate@example.com", "kate@example.com", true},
		{"KATE@Example.COM", "kate@example.com", true},
		{"\u212Aate@example.com", "kate@example.com", false}, // Kelvin sign
		{"\u212Aate@example.com", "Kate@example.com", false},
		{"ſam@example.com", "sam@example.com", false}, // long s folds to s in Unicode
		{"kate@example.com", "kate@example.co", false},
		{"Ünal@example.com", "ünal@example.com", false}, // non-ASCII letters compare exactly
		{"", "", true},
	} {
		if got := sameEmail(tt.a, tt.b); got != tt.want {
			t.Errorf("sameEmail(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// victim is a user no contact is linked to, with its own password.
func victim() User {
	return User{ID: 7, Login: "victim", Email: "victim@example.com", Roles: []string{"subscriber"},
		Fields: map[string]string{"first_name": "Vic"}, Meta: map[string]any{}}
}

// TestSyncer_HintNeverLinks: an update or update_tags naming the caller's own
// contact and someone else's email writes nothing to that someone: the hint
// only decides "ignored" without asking AC.
func TestSyncer_HintNeverLinks(t *testing.T) {
	p := testPolicy()
	p.FieldMap = append(p.FieldMap, Mapping{Target: "user_email", Source: "email"}, Mapping{Target: "user_pass", Source: "field:7"})
	for _, action := range []Action{ActionUpdate, ActionUpdateTags} {
		t.Run(string(action), func(t *testing.T) {
			e := newEnv(p, ann()) // the attacker's own contact 42, ann@example.com
			e.wp.seed(victim(), "victim-pw")
			res := mustRun(t, e.s, Request{ContactID: "42", Action: action, EmailHint: "victim@example.com",
				Tags: []string{"Hacked"}, HasTags: true})
			if res.Status != StatusIgnored {
				t.Errorf("result %+v, want ignored", res)
			}
			if len(e.wp.updates) != 0 {
				t.Errorf("victim written: %q", describe(e.wp.updates[0].ch, tagsKey))
			}
			if e.wp.passwords[7] != "victim-pw" || e.wp.user(7).Email != "victim@example.com" {
				t.Error("victim's password or email changed")
			}
			if n := e.ac.count("Contact"); n != 1 {
				t.Errorf("AC Contact calls = %d, want 1 (the hint found a user: AC decides)", n)
			}
		})
	}
}

// TestSyncer_LookAlikeEmail: a contact whose email is kate@example.com with a
// Kelvin sign for the k is never linked to kate@example.com, even when
// WordPress's search (a database collation) folds the two.
func TestSyncer_LookAlikeEmail(t *testing.T) {
	kelvin := "\u212Aate@example.com"
	kate := User{ID: 7, Login: "kate", Email: "kate@example.com", Roles: []string{"subscriber"}, Meta: map[string]any{}}
	contact := &Contact{ID: "42", Email: kelvin, FirstName: "Mallory"}
	t.Run("add", func(t *testing.T) {
		e := newEnv(testPolicy(), contact)
		e.wp.seed(kate, "kate-pw")
		_, err := e.s.Run(context.Background(), Request{ContactID: "42", Action: ActionAdd})
		if !errors.Is(err, ErrPermanent) {
			t.Errorf("err = %v, want a permanent failure (invalid email)", err)
		}
		if len(e.wp.updates) != 0 || e.wp.count("Create") != 0 {
			t.Error("add wrote to WordPress")
		}
	})
	for _, hint := range []string{kelvin, ""} {
		for _, action := range []Action{ActionUpdate, ActionUpdateTags} {
			t.Run(string(action)+" hint "+hint, func(t *testing.T) {
				e := newEnv(testPolicy(), contact)
				e.wp.seed(kate, "kate-pw")
				res := mustRun(t, e.s, Request{ContactID: "42", Action: action, EmailHint: hint, Tags: []string{"X"}, HasTags: true})
				if res.Status != StatusIgnored || len(e.wp.updates) != 0 {
					t.Errorf("result %+v, updates %d: want ignored, nothing written", res, len(e.wp.updates))
				}
			})
		}
	}
	t.Run("store folding look-alikes", func(t *testing.T) {
		e := newEnv(testPolicy(), ann())
		e.wp.seed(kate, "kate-pw")
		if u, err := e.s.findByEmail(context.Background(), "kate@example.com"); err != nil || u == nil {
			t.Fatalf("findByEmail(kate) = %v, %v", u, err)
		}
		e.wp.users[7].Email = kelvin // what a lax store might answer
		if u, err := e.s.findByEmail(context.Background(), "kate@example.com"); err != nil || u != nil {
			t.Errorf("findByEmail(kate) = %+v, %v; want nobody", u, err)
		}
	})
}

// TestSyncer_Add_OwnUnlinkedUser: WordPress created our user but its link was
// never written (a slow user_register hook, a crash between insert and meta):
// the retry finds it by email, recognises it by the pending password, links
// it and returns that password to AC once.
func TestSyncer_Add_OwnUnlinkedUser(t *testing.T) {
	const pending = "PendingPw1234567"
	for _, tc := range []struct {
		name     string
		password string // the found user's
		ours     bool
	}{{"same password: ours", pending, true}, {"other password: someone else's", "theirs", false}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(testPolicy(), ann())
			if err := e.pw.SavePendingPassword(context.Background(), "42", pending); err != nil {
				t.Fatal(err)
			}
			e.wp.seed(User{ID: 9, Login: "ann@example.com", Email: "ann@example.com", Roles: []string{"subscriber"}}, tc.password)
			res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd})
			if res.UserID != 9 || res.Created || e.wp.count("Create") != 0 || e.wp.user(9).Meta[cidKey] != "42" {
				t.Fatalf("result %+v: want user 9 linked, nothing created", res)
			}
			if _, ok := e.pw.pending("42"); ok {
				t.Error("pending password kept")
			}
			if e.wp.passwords[9] != tc.password {
				t.Error("the user's password changed")
			}
			if !tc.ours {
				checkNotReturned(t, e, res)
				return
			}
			if len(e.ac.writes) != 1 || e.ac.writes[0].value != pending || !hasString(res.Changes, "password_returned") {
				t.Errorf("AC writes = %d, changes %q: want the pending password returned once", len(e.ac.writes), res.Changes)
			}
			mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd})
			if len(e.ac.writes) != 1 {
				t.Errorf("AC writes after a second add = %d, want 1", len(e.ac.writes))
			}
		})
	}
	t.Run("check fails: retry, password kept", func(t *testing.T) {
		e := newEnv(testPolicy(), ann())
		if err := e.pw.SavePendingPassword(context.Background(), "42", pending); err != nil {
			t.Fatal(err)
		}
		e.wp.seed(User{ID: 9, Email: "ann@example.com", Roles: []string{"subscriber"}}, pending)
		e.wp.fail = failOn("CheckPassword", 1, errTransient)
		_, err := e.s.Run(context.Background(), Request{ContactID: "42", Action: ActionAdd})
		if err == nil || errors.Is(err, ErrPermanent) {
			t.Fatalf("err = %v, want retryable", err)
		}
		if _, ok := e.pw.pending("42"); !ok || len(e.wp.updates) != 0 {
			t.Fatal("pending password dropped or user written after a failed check")
		}
		res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd})
		if len(e.ac.writes) != 1 || !hasString(res.Changes, "password_returned") {
			t.Errorf("retry: AC writes %d, changes %q", len(e.ac.writes), res.Changes)
		}
	})
	t.Run("no password returned: no check", func(t *testing.T) {
		p := testPolicy()
		p.ReturnPasswordField = ""
		e := newEnv(p, ann())
		e.wp.seed(User{ID: 9, Email: "ann@example.com", Roles: []string{"subscriber"}}, pending)
		mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd})
		if n := e.wp.count("CheckPassword"); n != 0 {
			t.Errorf("CheckPassword calls = %d, want 0", n)
		}
	})
}
