package contactsync

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestSyncer_RemoveAccess: a managed user loses its roles, is marked and
// gets its tags; a later update leaves it without a role, a later add gives
// DEFAULT_ROLE (or the requested role) back and drops the mark.
func TestSyncer_RemoveAccess(t *testing.T) {
	for _, role := range []string{"", "customer"} {
		t.Run("add role "+role, func(t *testing.T) {
			e := newEnv(testPolicy(), ann())
			e.wp.seed(annUser(), "secret")
			res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionRemoveAccess, Tags: []string{"Cancelled"}, HasTags: true})
			u := e.wp.user(5)
			if res.Status != StatusDone || len(u.Roles) != 0 || !accessRemoved(u) || !hasString(res.Changes, "access_removed") {
				t.Fatalf("remove_access: %+v, user roles %q meta %v", res, u.Roles, u.Meta)
			}
			if !slices.Equal(metaStrings(u.Meta[tagsKey]), []string{"Cancelled"}) {
				t.Errorf("tags = %v, want [Cancelled]", u.Meta[tagsKey])
			}
			mustRun(t, e.s, Request{ContactID: "42", Action: ActionUpdate, Role: "customer"})
			if u := e.wp.user(5); len(u.Roles) != 0 {
				t.Fatalf("update gave a role back: %q", u.Roles)
			}
			mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd, Role: role})
			want := "subscriber"
			if role != "" {
				want = role
			}
			u = e.wp.user(5)
			if !slices.Equal(u.Roles, []string{want}) || accessRemoved(u) {
				t.Fatalf("after add: roles %q, marked %v; want [%s], unmarked", u.Roles, accessRemoved(u), want)
			}
		})
	}
}

// TestSyncer_RemoveAccessIgnored: protected users and unknown contacts are
// left alone with the reason.
func TestSyncer_RemoveAccessIgnored(t *testing.T) {
	tests := []struct {
		name string
		user *User
		want string
	}{
		{"unknown contact", nil, "no WordPress user is linked"},
		{"editor", ptr(annUser("editor")), "not in ALLOWED_ROLES"},
		{"granted capabilities", ptr(withCaps(annUser(), "edit_posts")), "capabilities beyond its roles"},
		{"no role, not marked", ptr(annUser([]string{}...)), "it has no role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(testPolicy(), ann())
			if tt.user != nil {
				e.wp.seed(*tt.user, "secret")
			}
			for _, del := range []bool{false, true} {
				res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionRemoveAccess, Delete: del})
				if res.Status != StatusIgnored || !strings.Contains(res.Message, tt.want) {
					t.Errorf("delete=%v: %+v, want ignored with %q", del, res, tt.want)
				}
			}
			if n := e.wp.count("Update") + e.wp.count("Delete"); n != 0 {
				t.Errorf("%d writes, want none", n)
			}
		})
	}
}

// TestSyncer_RemoveAccessDelete: delete=true deletes the user, its content
// going to the reassign= user or else to the user wpbridge acts as; an
// unknown reassign email fails for good.
func TestSyncer_RemoveAccessDelete(t *testing.T) {
	e := newEnv(testPolicy(), ann())
	e.wp.seed(annUser(), "secret")
	e.wp.seed(User{ID: 7, Login: "bob", Email: "bob@example.com", Roles: []string{"editor"}}, "x")
	_, err := e.s.Run(context.Background(), Request{ContactID: "42", Action: ActionRemoveAccess, Delete: true, Reassign: "nobody@example.com"})
	if !errors.Is(err, ErrPermanent) {
		t.Fatalf("unknown reassign: err = %v, want permanent", err)
	}
	res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionRemoveAccess, Delete: true, Reassign: "BOB@example.com"})
	if res.Status != StatusDone || !slices.Equal(e.wp.deleted, [][2]int64{{5, 7}}) {
		t.Fatalf("delete: %+v, deleted %v", res, e.wp.deleted)
	}
	e = newEnv(testPolicy(), ann())
	e.wp.seed(annUser(), "secret")
	mustRun(t, e.s, Request{ContactID: "42", Action: ActionRemoveAccess, Delete: true})
	if !slices.Equal(e.wp.deleted, [][2]int64{{5, 1}}) {
		t.Fatalf("deleted %v, want user 5 reassigned to 1", e.wp.deleted)
	}
}

// TestSyncer_RemoveAccessDeletePromoted: the delete carries the state the
// user was checked in; a user promoted to administrator between the check
// and the delete is not deleted (the round starts over, finds it unmanaged
// and ignores the webhook).
func TestSyncer_RemoveAccessDeletePromoted(t *testing.T) {
	e := newEnv(testPolicy(), ann())
	e.wp.seed(annUser(), "secret")
	promoted := false
	e.wp.fail = func(m string) error {
		if m == "Delete" && !promoted {
			promoted = true
			e.wp.mu.Lock()
			e.wp.users[5].Roles = []string{"administrator"}
			e.wp.mu.Unlock()
			e.wp.touch(5)
		}
		return nil
	}
	res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionRemoveAccess, Delete: true})
	if len(e.wp.deleted) != 0 || res.Status != StatusIgnored {
		t.Fatalf("promoted between check and delete: %+v, deleted %v; want ignored, nothing deleted", res, e.wp.deleted)
	}
}
