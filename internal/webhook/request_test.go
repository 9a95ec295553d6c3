package webhook

import (
	"slices"
	"testing"
)

func TestRequest_Merge(t *testing.T) {
	tests := []struct {
		name         string
		first, later Request
		want         Request
	}{
		{"add covers update",
			Request{ContactID: "1", Action: ActionAdd},
			Request{ContactID: "1", Action: ActionUpdate},
			Request{ContactID: "1", Action: ActionAdd}},
		{"update raised to add",
			Request{ContactID: "1", Action: ActionUpdate},
			Request{ContactID: "1", Action: ActionAdd},
			Request{ContactID: "1", Action: ActionAdd}},
		{"update covers update_tags",
			Request{ContactID: "1", Action: ActionUpdate},
			Request{ContactID: "1", Action: ActionUpdateTags},
			Request{ContactID: "1", Action: ActionUpdate}},
		{"update_tags raised to update",
			Request{ContactID: "1", Action: ActionUpdateTags},
			Request{ContactID: "1", Action: ActionUpdate},
			Request{ContactID: "1", Action: ActionUpdate}},
		{"notification kept from first",
			Request{ContactID: "1", Action: ActionAdd, SendNotification: true},
			Request{ContactID: "1", Action: ActionUpdate},
			Request{ContactID: "1", Action: ActionAdd, SendNotification: true}},
		{"notification kept from later",
			Request{ContactID: "1", Action: ActionUpdate},
			Request{ContactID: "1", Action: ActionAdd, SendNotification: true},
			Request{ContactID: "1", Action: ActionAdd, SendNotification: true}},
		{"latest role",
			Request{ContactID: "1", Action: ActionAdd, Role: "subscriber"},
			Request{ContactID: "1", Action: ActionUpdate, Role: "customer"},
			Request{ContactID: "1", Action: ActionAdd, Role: "customer"}},
		{"role kept when later has none",
			Request{ContactID: "1", Action: ActionAdd, Role: "customer"},
			Request{ContactID: "1", Action: ActionUpdate},
			Request{ContactID: "1", Action: ActionAdd, Role: "customer"}},
		{"latest tags",
			Request{ContactID: "1", Action: ActionUpdateTags, Tags: []string{"a"}, HasTags: true},
			Request{ContactID: "1", Action: ActionUpdateTags, Tags: []string{"a", "b"}, HasTags: true},
			Request{ContactID: "1", Action: ActionUpdateTags, Tags: []string{"a", "b"}, HasTags: true}},
		{"latest empty tag list",
			Request{ContactID: "1", Action: ActionUpdateTags, Tags: []string{"a"}, HasTags: true},
			Request{ContactID: "1", Action: ActionUpdateTags, HasTags: true},
			Request{ContactID: "1", Action: ActionUpdateTags, HasTags: true}},
		{"later without tags: load them from AC, not older payload tags",
			Request{ContactID: "1", Action: ActionUpdateTags, Tags: []string{"a"}, HasTags: true},
			Request{ContactID: "1", Action: ActionAdd},
			Request{ContactID: "1", Action: ActionAdd}},
		{"latest email hint",
			Request{ContactID: "1", Action: ActionUpdateTags, EmailHint: "a@x.com"},
			Request{ContactID: "1", Action: ActionUpdateTags, EmailHint: "b@x.com"},
			Request{ContactID: "1", Action: ActionUpdateTags, EmailHint: "b@x.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.first.Merge(tt.later)
			if got.ContactID != tt.want.ContactID || got.Action != tt.want.Action || got.Role != tt.want.Role ||
				got.SendNotification != tt.want.SendNotification || got.HasTags != tt.want.HasTags ||
				!slices.Equal(got.Tags, tt.want.Tags) || got.EmailHint != tt.want.EmailHint {
				t.Errorf("Merge = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseAction(t *testing.T) {
	for _, s := range []string{"add", "update", "update_tags"} {
		if a, ok := ParseAction(s); !ok || string(a) != s {
			t.Errorf("ParseAction(%q) = %q, %v", s, a, ok)
		}
	}
	for _, s := range []string{"", "test", "ADD", "delete"} {
		if _, ok := ParseAction(s); ok {
			t.Errorf("ParseAction(%q) accepted", s)
		}
	}
	if !(ActionAdd.Rank() > ActionUpdate.Rank() && ActionUpdate.Rank() > ActionUpdateTags.Rank() && ActionUpdateTags.Rank() > Action("x").Rank()) {
		t.Error("Rank does not order add > update > update_tags > unknown")
	}
}

// TestRequest_MergeAccess: between add and remove_access the later webhook
// wins; update and update_tags override neither.
func TestRequest_MergeAccess(t *testing.T) {
	add := Request{ContactID: "42", Action: ActionAdd}
	remove := Request{ContactID: "42", Action: ActionRemoveAccess, Delete: true, Reassign: "bob@example.com"}
	upd := Request{ContactID: "42", Action: ActionUpdate}
	tests := []struct {
		name string
		reqs []Request
		want Action
		del  bool
	}{
		{"add then remove", []Request{add, remove}, ActionRemoveAccess, true},
		{"remove then add", []Request{remove, add}, ActionAdd, false},
		{"remove then update", []Request{remove, upd}, ActionRemoveAccess, true},
		{"update then remove", []Request{upd, remove}, ActionRemoveAccess, true},
		{"add, remove, add", []Request{add, remove, add}, ActionAdd, false},
		{"add then password_reset", []Request{add, {ContactID: "42", Action: ActionPasswordReset}}, ActionPasswordReset, false},
		{"password_reset then add", []Request{{ContactID: "42", Action: ActionPasswordReset}, add}, ActionPasswordReset, false},
		{"password_reset then remove", []Request{{ContactID: "42", Action: ActionPasswordReset}, remove}, ActionRemoveAccess, true},
		{"remove then password_reset", []Request{remove, {ContactID: "42", Action: ActionPasswordReset}}, ActionPasswordReset, false},
		{"remove then plain remove", []Request{remove, {ContactID: "42", Action: ActionRemoveAccess}}, ActionRemoveAccess, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.reqs[0]
			for _, r := range tt.reqs[1:] {
				got = got.Merge(r)
			}
			if got.Action != tt.want || got.Delete != tt.del || (got.Reassign != "") != tt.del {
				t.Errorf("merged = %+v, want %s delete=%v", got, tt.want, tt.del)
			}
		})
	}
}
