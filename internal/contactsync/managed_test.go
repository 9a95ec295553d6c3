package contactsync

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// fakeRoles is a RoleSource with a fixed answer, counting its calls.
type fakeRoles struct {
	privileged map[string]bool
	err        error
	calls      int
}

func (f *fakeRoles) AdminRoles(context.Context) (map[string]bool, error) {
	f.calls++
	return f.privileged, f.err
}

// TestSyncer_AdminRoles: a role holding an admin-level capability is
// never assigned, even when ALLOWED_ROLES (wrongly) names it: a new user gets
// DEFAULT_ROLE with a warning, an existing one keeps its role.
func TestSyncer_AdminRoles(t *testing.T) {
	roles := map[string]bool{"administrator": true, "editor": true, "site_boss": true}
	tests := []struct {
		name, url, want string
	}{
		{"editor allowed by mistake", "editor", "subscriber"},
		{"custom role with manage_options", "site_boss", "subscriber"},
		{"plain allowed role", "customer", "customer"},
	}
	for _, tt := range tests {
		t.Run("add "+tt.name, func(t *testing.T) {
			p := testPolicy()
			p.AllowedRoles = append(p.AllowedRoles, "editor", "site_boss")
			e := newEnv(p, ann())
			e.s.Roles = &fakeRoles{privileged: roles}
			res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd, Role: tt.url})
			u := onlyCreated(t, e)
			if !slices.Equal(u.Roles, []string{tt.want}) {
				t.Errorf("roles = %q, want [%s]", u.Roles, tt.want)
			}
			if warned := hasSubstring(res.Warnings, "admin-level capability"); warned != (tt.want != tt.url) {
				t.Errorf("warnings = %q, want an admin-level warning: %v", res.Warnings, tt.want != tt.url)
			}
		})
		t.Run("update "+tt.name, func(t *testing.T) {
			p := testPolicy()
			p.AllowedRoles = append(p.AllowedRoles, "editor", "site_boss")
			e := newEnv(p, ann())
			e.s.Roles = &fakeRoles{privileged: roles}
			e.wp.seed(annUser(), "old-secret")
			res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionUpdate, Role: tt.url, Tags: []string{"VIP"}, HasTags: true})
			want := []string{"subscriber"}
			if tt.want == tt.url {
				want = []string{tt.url}
			}
			if got := e.wp.user(5).Roles; !slices.Equal(got, want) {
				t.Errorf("roles = %q, want %q", got, want)
			}
			if warned := hasSubstring(res.Warnings, "admin-level capability"); warned != (tt.want != tt.url) {
				t.Errorf("warnings = %q, want an admin-level warning: %v", res.Warnings, tt.want != tt.url)
			}
		})
	}
}

// TestSyncer_PrivilegedDefaultRole: when DEFAULT_ROLE itself holds an
// admin-level capability no user is created (a permanent error), and the
// roles are not asked for when no role is assigned.
func TestSyncer_PrivilegedDefaultRole(t *testing.T) {
	p := testPolicy()
	p.DefaultRole = "editor"
	e := newEnv(p, ann())
	e.s.Roles = &fakeRoles{privileged: map[string]bool{"editor": true}}
	_, err := e.s.Run(context.Background(), Request{ContactID: "42", Action: ActionAdd, Role: "customer"})
	if err != nil {
		t.Fatalf("add with an allowed role: %v", err)
	}
	e = newEnv(p, ann())
	e.s.Roles = &fakeRoles{privileged: map[string]bool{"editor": true}}
	_, err = e.s.Run(context.Background(), Request{ContactID: "42", Action: ActionAdd})
	if !errors.Is(err, ErrPermanent) {
		t.Fatalf("add with a privileged DEFAULT_ROLE: err = %v, want permanent", err)
	}
	if n := e.wp.count("Create"); n != 0 {
		t.Errorf("Create calls = %d, want 0", n)
	}

	// update_tags and an update with the role already held ask nothing.
	fr := &fakeRoles{privileged: map[string]bool{}}
	e = newEnv(testPolicy(), ann())
	e.s.Roles = fr
	e.wp.seed(annUser(), "old-secret")
	mustRun(t, e.s, Request{ContactID: "42", Action: ActionUpdateTags, Tags: []string{"VIP"}, HasTags: true})
	mustRun(t, e.s, Request{ContactID: "42", Action: ActionUpdate, Role: "subscriber", Tags: []string{"VIP"}, HasTags: true})
	if fr.calls != 0 {
		t.Errorf("AdminRoles calls = %d, want 0", fr.calls)
	}
}

// TestSyncer_RolesUnavailable: when the roles cannot be read, no role is
// assigned and the error may pass on a retry.
func TestSyncer_RolesUnavailable(t *testing.T) {
	e := newEnv(testPolicy(), ann())
	e.s.Roles = &fakeRoles{err: errors.New("503 from WordPress")}
	_, err := e.s.Run(context.Background(), Request{ContactID: "42", Action: ActionAdd})
	if err == nil || errors.Is(err, ErrPermanent) {
		t.Fatalf("err = %v, want a temporary error", err)
	}
	if n := e.wp.count("Create"); n != 0 {
		t.Errorf("Create calls = %d, want 0", n)
	}
}
