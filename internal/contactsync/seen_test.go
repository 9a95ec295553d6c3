package contactsync

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// newSeenEnv is newEnv with a Seen, as production runs.
func newSeenEnv(cs ...*Contact) *env {
	e := newEnv(testPolicy(), cs...)
	e.s.Seen = NewSeen(100)
	return e
}

func TestAdd_NewContactIsOneWordPressRequest(t *testing.T) {
	e := newSeenEnv(ann())
	res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd})
	if !res.Created {
		t.Fatalf("result %+v, want created", res)
	}
	// The fake's lookup logs the steps WordPress takes inside it after
	// "Lookup"; any other request would show as a second entry point.
	if want := []string{"Lookup", "FindByMeta", "FindByEmail", "Create"}; !slices.Equal(e.wp.calls, want) {
		t.Errorf("WordPress calls %v, want exactly one lookup (%v)", e.wp.calls, want)
	}
	if _, ok := e.pw.pending("42"); ok {
		t.Error("password still pending after it was written to AC")
	}
}

func TestSeen_LaterRoundsAreOneRequest(t *testing.T) {
	tests := []struct {
		name string
		req  Request
	}{
		{"update", Request{ContactID: "42", Action: ActionUpdate}},
		{"update with tags", Request{ContactID: "42", Action: ActionUpdate, HasTags: true, Tags: []string{"Gold"}}},
		{"update_tags", Request{ContactID: "42", Action: ActionUpdateTags, HasTags: true, Tags: []string{"Gold"}}},
		{"add again", Request{ContactID: "42", Action: ActionAdd}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSeenEnv(ann())
			mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd})
			e.ac.contacts["42"].FirstName = "Anna"
			e.wp.calls = nil
			res := mustRun(t, e.s, tt.req)
			if res.Status != StatusDone {
				t.Fatalf("result %+v", res)
			}
			if !slices.Equal(e.wp.calls, []string{"Update"}) {
				t.Errorf("WordPress calls %v, want one conditional update", e.wp.calls)
			}
			u := e.wp.user(res.UserID)
			if tt.req.HasTags && !slices.Equal(metaStrings(u.Meta[tagsKey]), []string{"Gold"}) {
				t.Errorf("tags %v, want [Gold]", u.Meta[tagsKey])
			}
			if tt.req.Action != ActionUpdateTags && u.Fields["first_name"] != "Anna" {
				t.Errorf("first name %q, want Anna", u.Fields["first_name"])
			}
		})
	}
}

// A user changed in WordPress since it was remembered: the write is refused,
// the round reads the user afresh and writes what the rules say for it now,
// without asking ActiveCampaign again.
func TestSeen_StaleUserIsReadAgain(t *testing.T) {
	e := newSeenEnv(ann())
	res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd})
	id := res.UserID
	// An admin makes the user an administrator: it is no longer managed.
	e.wp.mu.Lock()
	e.wp.users[id].Roles = []string{"administrator"}
	e.wp.users[id].AdminCaps = []string{"edit_users"}
	e.wp.mu.Unlock()
	e.wp.touch(id)
	e.ac.contacts["42"].FirstName = "Mallory"
	e.ac.calls, e.wp.calls = nil, nil
	res = mustRun(t, e.s, Request{ContactID: "42", Action: ActionUpdate})
	if got := e.wp.user(id).Fields["first_name"]; got != "Ann" {
		t.Errorf("first name of a user now unmanaged = %q, want Ann (unchanged)", got)
	}
	if !hasSubstring(res.Warnings, "not managed") {
		t.Errorf("warnings %v, want one saying the user is not managed", res.Warnings)
	}
	if e.wp.count("Update") < 1 || e.wp.count("FindByMeta") != 1 {
		t.Errorf("WordPress calls %v: want the refused write, then a fresh read", e.wp.calls)
	}
	if n := e.ac.count("Contact"); n != 1 {
		t.Errorf("AC Contact calls = %d, want 1 (the second pass reuses it)", n)
	}
}

// A round that changes nothing still checks a remembered user with
// WordPress; a user deleted meanwhile is then looked up (and, for add,
// created) again.
func TestSeen_NothingToWriteStillChecks(t *testing.T) {
	e := newSeenEnv(ann())
	first := mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd})
	e.wp.calls = nil
	mustRun(t, e.s, Request{ContactID: "42", Action: ActionUpdate})
	if !slices.Equal(e.wp.calls, []string{"Update"}) {
		t.Errorf("WordPress calls %v, want one check", e.wp.calls)
	}
	e.wp.mu.Lock()
	delete(e.wp.users, first.UserID)
	e.wp.mu.Unlock()
	res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd})
	if !res.Created || res.UserID == first.UserID {
		t.Errorf("add after the user was deleted: %+v, want a new user", res)
	}
}

// A password planned for a create that found the user instead, and left
// pending by a crash, is never written to AC for a user who lacks it.
func TestAdd_StrayPendingPasswordIsDropped(t *testing.T) {
	e := newEnv(testPolicy(), ann())
	e.wp.seed(annUser(), "old-secret")
	if err := e.pw.SavePendingPassword(context.Background(), "42", "planned-but-unused"); err != nil {
		t.Fatal(err)
	}
	res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd})
	if res.Created {
		t.Fatalf("created a user; want the linked one")
	}
	checkNotReturned(t, e, res)
}

// blockingContacts makes Contact wait until TagNames was asked: a round that
// reads them one after the other fails.
type blockingContacts struct {
	*fakeContacts
	tagsAsked chan struct{}
}

func (b *blockingContacts) Contact(ctx context.Context, id string) (*Contact, error) {
	select {
	case <-b.tagsAsked:
		return b.fakeContacts.Contact(ctx, id)
	case <-time.After(5 * time.Second):
		return nil, errors.New("the tags were not asked for while the contact loaded")
	}
}

func (b *blockingContacts) TagNames(ctx context.Context, id string) ([]string, error) {
	close(b.tagsAsked)
	return b.fakeContacts.TagNames(ctx, id)
}

func TestRound_ReadsContactAndTagsTogether(t *testing.T) {
	for _, action := range []Action{ActionAdd, ActionUpdate} {
		t.Run(string(action), func(t *testing.T) {
			e := newSeenEnv(ann())
			if action == ActionUpdate {
				e.wp.seed(annUser(), "old-secret")
			}
			e.ac.tags["42"] = []string{"VIP", "Gold"}
			e.s.Contacts = &blockingContacts{fakeContacts: e.ac, tagsAsked: make(chan struct{})}
			res := mustRun(t, e.s, Request{ContactID: "42", Action: action})
			u := e.wp.user(res.UserID)
			if !slices.Equal(metaStrings(u.Meta[tagsKey]), []string{"VIP", "Gold"}) {
				t.Errorf("tags %v", u.Meta[tagsKey])
			}
			if n := e.ac.count("TagNames"); n != 1 {
				t.Errorf("TagNames calls = %d, want 1", n)
			}
		})
	}
}
