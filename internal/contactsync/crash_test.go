package contactsync

import (
	"context"
	"errors"
	"testing"
)

// runAddRetryable runs add for contact 42 and requires a failure that is not permanent.
func runAddRetryable(t *testing.T, e *env) {
	t.Helper()
	_, err := e.s.Run(context.Background(), Request{ContactID: "42", Action: ActionAdd})
	if err == nil {
		t.Fatal("first run succeeded, want a failure")
	}
	if errors.Is(err, ErrPermanent) {
		t.Fatalf("first run failed permanently: %v", err)
	}
}

func TestSyncer_Add_CrashSafety(t *testing.T) {
	tests := []struct {
		name string
		// crash makes the first run fail at some point; undo lets the retry pass.
		crash, undo func(e *env)
		// created: the first run already stored the user.
		created bool
	}{
		{name: "create failed before storing the user",
			crash: func(e *env) { e.wp.fail = failOn("Create", 1, errTransient) }},
		{name: "create stored the user, then the answer was lost", created: true,
			crash: func(e *env) { e.wp.afterCreate = errTransient },
			undo:  func(e *env) { e.wp.afterCreate = nil }},
		{name: "field id lookup failed after create", created: true,
			crash: func(e *env) { e.ac.fail = failOn("FieldID", 1, errTransient) }},
		{name: "password write failed after create", created: true,
			crash: func(e *env) { e.ac.fail = failOn("SetField", 1, errTransient) }},
		{name: "crash between AC write and delete", created: true,
			crash: func(e *env) { e.pw.fail = failOn("DeletePendingPassword", 1, errTransient) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(testPolicy(), ann())
			tt.crash(e)
			runAddRetryable(t, e)
			first, ok := e.pw.pending("42")
			if !ok {
				t.Fatal("no pending password after the failed run")
			}
			if got := len(e.wp.users); got != map[bool]int{false: 0, true: 1}[tt.created] {
				t.Fatalf("users after the first run = %d", got)
			}
			if tt.undo != nil {
				tt.undo(e)
			}
			// A fresh process: another random source would make another password.
			e.s.Rand = seededRand(99)

			res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd})
			u := onlyCreated(t, e)
			if e.wp.passwords[u.ID] != first {
				t.Error("the retry gave the user a password other than the pending one")
			}
			if !hasString(res.Changes, "password_returned") {
				t.Errorf("changes = %q, want password_returned", res.Changes)
			}
			if _, ok := e.pw.pending("42"); ok {
				t.Error("pending password kept after it reached AC")
			}
			for _, w := range e.ac.writes {
				if w.value != first || w.contactID != "42" || w.fieldID != "12" {
					t.Error("AC got a write other than the pending password")
				}
			}
			if tt.created && e.wp.count("Create") != 1 {
				t.Errorf("Create calls = %d, want 1: the retry must find the user by contact id", e.wp.count("Create"))
			}

			// A third run (e.g. a duplicate add) changes nothing.
			writes := len(e.ac.writes)
			res = mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd})
			if len(e.wp.users) != 1 || len(e.ac.writes) != writes || res.Created {
				t.Errorf("third run: users %d, AC writes %d -> %d, created %v", len(e.wp.users), writes, len(e.ac.writes), res.Created)
			}
		})
	}
}

func TestSyncer_Add_Twice(t *testing.T) {
	e := newEnv(testPolicy(), ann())
	first := mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd, SendNotification: true})
	second := mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd, SendNotification: true})
	if !first.Created || second.Created || second.UserID != first.UserID {
		t.Errorf("first %+v, second %+v", first, second)
	}
	if len(e.wp.users) != 1 || e.wp.count("Create") != 1 {
		t.Errorf("users = %d, Create calls = %d", len(e.wp.users), e.wp.count("Create"))
	}
	if len(e.ac.writes) != 1 {
		t.Errorf("AC password writes = %d, want 1", len(e.ac.writes))
	}
	if len(e.wp.notified) != 1 {
		t.Errorf("notifications = %d, want 1", len(e.wp.notified))
	}
	if e.wp.count("Update") != 0 {
		t.Errorf("second add updated an unchanged user: %q", describe(e.wp.updates[0].ch, tagsKey))
	}
}

// TestSyncer_Add_EmailAppears: a user with the contact's email is made by
// someone else between the lookup and the create.
func TestSyncer_Add_EmailAppears(t *testing.T) {
	e := newEnv(testPolicy(), ann())
	e.wp.beforeCreate = func() {
		e.wp.beforeCreate = nil
		e.wp.seed(User{ID: 9, Login: "ann", Email: "ann@example.com", Roles: []string{"customer"}}, "theirs")
	}
	runAddRetryable(t, e)
	// The retry finds the user by email, not by contact id: not ours, so the
	// pending password is dropped then.
	res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd})
	if _, ok := e.pw.pending("42"); ok {
		t.Error("pending password kept for a user we did not create")
	}
	if res.UserID != 9 || res.Created || len(e.wp.users) != 1 {
		t.Errorf("result %+v, users %d: want user 9 linked", res, len(e.wp.users))
	}
	if e.wp.user(9).Meta[cidKey] != "42" || e.wp.passwords[9] != "theirs" {
		t.Error("user 9 not linked, or its password changed")
	}
	checkNotReturned(t, e, res)
}

// TestSyncer_Add_LateCreateOfKilledRun: a killed run's create reaches
// WordPress only after the restarted run looked: the restarted create sees
// the email taken, and the retry finds the user by contact id and returns the
// one pending password.
func TestSyncer_Add_LateCreateOfKilledRun(t *testing.T) {
	e := newEnv(testPolicy(), ann())
	e.wp.beforeCreate = func() {
		e.wp.beforeCreate = nil
		pw, ok := e.pw.pending("42")
		if !ok {
			t.Fatal("no pending password before create")
		}
		// the killed run's user, with the same pending password
		e.wp.seed(User{ID: 9, Login: "ann@example.com", Email: "ann@example.com", Roles: []string{"subscriber"},
			Meta: map[string]any{cidKey: "42"}}, pw)
	}
	runAddRetryable(t, e)
	res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd})
	if res.UserID != 9 || len(e.wp.users) != 1 {
		t.Fatalf("result %+v, users %d: want the late-created user 9", res, len(e.wp.users))
	}
	if len(e.ac.writes) != 1 || e.ac.writes[0].value != e.wp.passwords[9] {
		t.Errorf("AC writes = %d; want exactly the user's password once", len(e.ac.writes))
	}
	if _, ok := e.pw.pending("42"); ok {
		t.Error("pending password not cleared after it was returned")
	}
}

// TestSyncer_Add_CrashThenMerged: the user was created, the password not yet
// returned, and meanwhile AC merged contact 42 into 77.
func TestSyncer_Add_CrashThenMerged(t *testing.T) {
	e := newEnv(testPolicy(), ann())
	e.ac.fail = failOn("SetField", 1, errTransient)
	runAddRetryable(t, e)
	pw, _ := e.pw.pending("42")

	merged := ann()
	merged.ID = "77"
	e.ac.contacts = map[string]*Contact{"77": merged}
	res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd})
	u := onlyCreated(t, e)
	if u.Meta[cidKey] != "77" || !hasString(res.Changes, "relinked") {
		t.Errorf("contact id meta = %v, changes %q: want relinked to 77", u.Meta[cidKey], res.Changes)
	}
	if len(e.ac.writes) != 1 || e.ac.writes[0].contactID != "77" || e.ac.writes[0].value != pw {
		t.Error("pending password not written to the surviving contact 77")
	}
	if _, ok := e.pw.pending("42"); ok {
		t.Error("pending password kept")
	}
}
