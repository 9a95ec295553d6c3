package contactsync

import (
	"maps"
	"slices"
	"testing"
)

// coldUsers are users linked to contact 42 (ann), as a cold round may find
// them: the default shape in several states, and others.
func coldUsers() map[string]User {
	linked := func(u User) User {
		u.ID, u.Email = 7, "ann@example.com"
		if u.Meta == nil {
			u.Meta = map[string]any{}
		}
		u.Meta[cidKey] = "42"
		return u
	}
	return map[string]User{
		"subscriber, bare":   linked(User{Roles: []string{"subscriber"}}),
		"subscriber, stale":  linked(User{Roles: []string{"subscriber"}, Fields: map[string]string{"first_name": "Old"}, Meta: map[string]any{tagsKey: []string{"Old"}}}),
		"subscriber, as is":  linked(User{Roles: []string{"subscriber"}, Fields: map[string]string{"first_name": "Ann", "last_name": "Lee"}, Meta: map[string]any{tagsKey: []string{"Gold"}}}),
		"customer":           linked(User{Roles: []string{"customer"}, Fields: map[string]string{"first_name": "Old"}}),
		"granted a cap":      linked(User{Roles: []string{"subscriber"}, ExtraCaps: []string{"edit_posts"}}),
		"access removed":     linked(User{Meta: map[string]any{AccessRemovedMetaKey: "1"}}),
		"no role":            linked(User{}),
		"by email, unlinked": {ID: 7, Email: "ann@example.com", Roles: []string{"subscriber"}, Meta: map[string]any{}},
	}
}

func coldRequests() map[string]Request {
	return map[string]Request{
		"update":                  {ContactID: "42", Action: ActionUpdate},
		"update, hint, idle":      {ContactID: "42", Action: ActionUpdate, EmailHint: "ann@example.com", Idle: true},
		"update, hint":            {ContactID: "42", Action: ActionUpdate, EmailHint: "ann@example.com"},
		"update, tags, role":      {ContactID: "42", Action: ActionUpdate, HasTags: true, Tags: []string{"Gold"}, Role: "customer"},
		"update, no tags":         {ContactID: "42", Action: ActionUpdate, HasTags: true, Tags: []string{}},
		"update_tags":             {ContactID: "42", Action: ActionUpdateTags, HasTags: true, Tags: []string{"Gold"}},
		"update_tags, none":       {ContactID: "42", Action: ActionUpdateTags, HasTags: true, Tags: []string{}},
		"update_tags, hint":       {ContactID: "42", Action: ActionUpdateTags, HasTags: true, Tags: []string{"Gold"}, EmailHint: "ann@example.com"},
		"update_tags, from AC":    {ContactID: "42", Action: ActionUpdateTags, Idle: true},
		"update_tags, AC, busy":   {ContactID: "42", Action: ActionUpdateTags},
		"update_tags, hint, busy": {ContactID: "42", Action: ActionUpdateTags, EmailHint: "ann@example.com"},
	}
}

// A cold round's find-and-write must leave every user exactly as the
// two-request way (find, then write) does, and say the same: the shape
// condition covers everything the rules read.
func TestCold_SameAsFindThenWrite(t *testing.T) {
	for un, u := range coldUsers() {
		for rn, req := range coldRequests() {
			t.Run(un+"/"+rn, func(t *testing.T) {
				run := func(ignoreUpdate bool) (Result, *User, *env) {
					p := testPolicy()
					p.FireHooks = true
					e := newEnv(p, ann())
					e.ac.tags["42"] = []string{"Gold", "Silver"}
					e.s.Seen = NewSeen(10)
					e.wp.ignoreUpdate = ignoreUpdate
					e.wp.seed(u, "pw")
					res := mustRun(t, e.s, req)
					return res, e.wp.user(7), e
				}
				want, wantUser, _ := run(true)
				got, gotUser, _ := run(false)
				if got.Status != want.Status || got.Message != want.Message || !slices.Equal(got.Changes, want.Changes) ||
					!slices.Equal(got.Warnings, want.Warnings) || got.UserID != want.UserID {
					t.Errorf("result\n got %+v\nwant %+v", got, want)
				}
				if !slices.Equal(gotUser.Roles, wantUser.Roles) || !maps.Equal(gotUser.Fields, wantUser.Fields) ||
					!maps.EqualFunc(gotUser.Meta, wantUser.Meta, metaEqual) {
					t.Errorf("user\n got %+v\nwant %+v", gotUser, wantUser)
				}
			})
		}
	}
}

func TestCold_OneRequest(t *testing.T) {
	for rn, req := range coldRequests() {
		speculates := req.HasTags || req.Idle || (req.Action == ActionUpdate && req.EmailHint == "")
		if !speculates {
			continue
		}
		t.Run(rn, func(t *testing.T) {
			e := newSeenEnv(ann())
			e.wp.seed(coldUsers()["subscriber, stale"], "pw")
			res := mustRun(t, e.s, req)
			if res.Status != StatusDone || res.UserID != 7 {
				t.Fatalf("result %+v", res)
			}
			if want := []string{"Lookup", "FindByMeta"}; !slices.Equal(e.wp.calls, want) {
				t.Errorf("WordPress calls %v, want one lookup that writes (%v)", e.wp.calls, want)
			}
			if !hasString(res.Changes, "tags") {
				t.Errorf("changes %v, want the tags written", res.Changes)
			}
			// The next round for the contact writes to the remembered user.
			e.wp.calls = nil
			mustRun(t, e.s, req)
			if !slices.Equal(e.wp.calls, []string{"Update"}) {
				t.Errorf("second round: WordPress calls %v, want one conditional update", e.wp.calls)
			}
		})
	}
}

// A contact without a user: one request, and no AC request when the
// payload's email finds nobody and AC is busy.
func TestCold_NoUserOneRequest(t *testing.T) {
	for rn, req := range coldRequests() {
		t.Run(rn, func(t *testing.T) {
			e := newSeenEnv(ann())
			e.ac.tags["42"] = []string{"Gold"}
			res := mustRun(t, e.s, req)
			if res.Status != StatusIgnored {
				t.Fatalf("result %+v, want ignored", res)
			}
			if n := e.wp.count("Lookup"); n != 1 || len(e.wp.calls) != n+e.wp.count("FindByMeta")+e.wp.count("FindByEmail") {
				t.Errorf("WordPress calls %v, want one lookup", e.wp.calls)
			}
			if req.EmailHint != "" && !req.Idle && !req.HasTags && len(e.ac.calls) > 0 {
				t.Errorf("AC calls %v for a contact whose payload email has no user, AC busy", e.ac.calls)
			}
		})
	}
}
