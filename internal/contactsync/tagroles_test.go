package contactsync

import (
	"slices"
	"testing"
)

func tagRolesPolicy() Policy {
	p := testPolicy()
	p.TagRoles = []TagRole{{"Gold", "member"}, {"Gold annual", "member"}, {"Platinum", "vip"}, {"Boss", "site_boss"}}
	return p
}

// TestSyncer_TagRoles: a managed user holds exactly the tag-managed roles its
// tags grant, keeps its other roles, falls back to DEFAULT_ROLE; protected
// users and role= of a tag-managed role are left alone.
func TestSyncer_TagRoles(t *testing.T) {
	tests := []struct {
		name      string
		user      User
		action    Action
		role      string // role=
		tags      []string
		want      []string // roles after the round
		warn      bool
		roleWrite bool // the round wrote roles
	}{
		{name: "gain", user: annUser(), tags: []string{"VIP", "Gold"}, want: []string{"subscriber", "member"}, roleWrite: true},
		{name: "gain on update_tags", user: annUser("customer"), action: ActionUpdateTags, tags: []string{"Platinum"},
			want: []string{"customer", "vip"}, roleWrite: true},
		{name: "switch", user: annUser("member"), tags: []string{"Platinum"}, want: []string{"vip"}, roleWrite: true},
		{name: "lose: DEFAULT_ROLE is the floor", user: annUser("member"), action: ActionUpdateTags, tags: []string{"VIP"},
			want: []string{"subscriber"}, roleWrite: true},
		{name: "lose one, keep the other role", user: annUser("customer", "member"), tags: nil, want: []string{"customer"}, roleWrite: true},
		{name: "two tags for one role: one still held", user: annUser("member"), tags: []string{"Gold annual"}, want: []string{"member"}},
		{name: "two tags for one role: both held", user: annUser("subscriber"), tags: []string{"Gold", "Gold annual"},
			want: []string{"subscriber", "member"}, roleWrite: true},
		{name: "role= naming a tag-managed role is ignored", user: annUser(), role: "vip", tags: []string{"VIP"},
			want: []string{"subscriber"}, warn: true},
		{name: "role= of another role, tags add theirs", user: annUser("member"), role: "customer", tags: []string{"Gold"},
			want: []string{"customer", "member"}, roleWrite: true},
		{name: "a tag-managed role holding an admin capability is never given", user: annUser(), tags: []string{"Boss"},
			want: []string{"subscriber"}, warn: true},
		{name: "protected editor: tags only", user: annUser("editor"), action: ActionUpdateTags, tags: []string{"Gold"},
			want: []string{"editor"}},
		{name: "capped user: tags only", user: withCaps(annUser(), "manage_options"), action: ActionUpdateTags, tags: []string{"Gold"},
			want: []string{"subscriber"}},
		{name: "role-less user: tags only", user: withoutRole(annUser()), action: ActionUpdateTags, tags: []string{"Gold"},
			want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(tagRolesPolicy(), ann())
			e.s.Roles = &fakeRoles{privileged: map[string]bool{"site_boss": true, "editor": true}}
			e.wp.seed(tt.user, "old-secret")
			action := tt.action
			if action == "" {
				action = ActionUpdate
			}
			res := mustRun(t, e.s, Request{ContactID: "42", Action: action, Role: tt.role, Tags: tt.tags, HasTags: true})
			if got := e.wp.user(5).Roles; !sameRoles(got, tt.want) || len(got) != len(tt.want) {
				t.Errorf("roles = %q, want %q", got, tt.want)
			}
			if got := slices.Contains(res.Changes, "role"); got != tt.roleWrite {
				t.Errorf("changes %q: role written %v, want %v", res.Changes, got, tt.roleWrite)
			}
			if (len(res.Warnings) > 0) != tt.warn {
				t.Errorf("warnings = %q, want warning %v", res.Warnings, tt.warn)
			}
		})
	}
}

// TestSyncer_TagRolesNewUser: a new user (add, import) gets the roles its
// tags grant, DEFAULT_ROLE only when none; an explicit other role is kept.
func TestSyncer_TagRolesNewUser(t *testing.T) {
	tests := []struct {
		name, role string
		tags       []string
		want       []string
	}{
		{"tags grant a role", "", []string{"Gold"}, []string{"member"}},
		{"no tag: DEFAULT_ROLE", "", []string{"VIP"}, []string{"subscriber"}},
		{"role= and a tag role", "customer", []string{"Platinum", "Gold"}, []string{"customer", "member", "vip"}},
		{"role= of a tag-managed role ignored", "member", []string{"VIP"}, []string{"subscriber"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(tagRolesPolicy(), ann())
			res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd, Role: tt.role, Tags: tt.tags, HasTags: true})
			if !res.Created {
				t.Fatalf("result %+v", res)
			}
			if got := e.wp.user(res.UserID).Roles; !sameRoles(got, tt.want) || len(got) != len(tt.want) {
				t.Errorf("roles = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSyncer_FireHooks: with FireHooks every tag round writes (the tags even
// when unchanged) and says what WordPress listeners reported.
func TestSyncer_FireHooks(t *testing.T) {
	p := testPolicy()
	p.FireHooks = true
	e := newEnv(p, ann())
	e.wp.seed(annUser(), "old-secret")
	res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionUpdateTags, Tags: []string{"VIP"}, HasTags: true})
	if len(e.wp.updates) != 1 {
		t.Fatalf("updates = %d, want the unchanged tags written once", len(e.wp.updates))
	}
	h := e.wp.updates[0].ch.Hooks
	if h == nil || h.Action != ActionUpdateTags || h.ContactID != "42" || !h.WriteTags || !slices.Equal(h.Tags, []string{"VIP"}) || h.TagsKey != tagsKey {
		t.Errorf("hooks = %+v", h)
	}
	if res.Message != "user 5 already up to date" || len(res.Changes) != 0 {
		t.Errorf("result %+v: an unchanged round still says so", res)
	}
}

// TestFireHooks_RequestsPerRound: with FireHooks (production) a new
// contact's add is still one lookup, and every later round of a contact
// seen before, changed or not, one conditional update.
func TestFireHooks_RequestsPerRound(t *testing.T) {
	p := testPolicy()
	p.FireHooks = true
	e := newEnv(p, ann())
	e.s.Seen = NewSeen(100)
	mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd, HasTags: true, Tags: []string{"VIP"}})
	if want := []string{"Lookup", "FindByMeta", "FindByEmail", "Create"}; !slices.Equal(e.wp.calls, want) {
		t.Errorf("add: WordPress calls %v, want one lookup", e.wp.calls)
	}
	for _, req := range []Request{
		{ContactID: "42", Action: ActionUpdateTags, HasTags: true, Tags: []string{"VIP"}}, // unchanged
		{ContactID: "42", Action: ActionUpdateTags, HasTags: true, Tags: []string{"VIP", "Gold"}},
		{ContactID: "42", Action: ActionUpdate, HasTags: true, Tags: []string{"VIP", "Gold"}},
	} {
		e.wp.calls = nil
		mustRun(t, e.s, req)
		if !slices.Equal(e.wp.calls, []string{"Update"}) {
			t.Errorf("%s %v: WordPress calls %v, want one conditional update", req.Action, req.Tags, e.wp.calls)
		}
	}
}
