package contactsync

import (
	"context"
	"errors"
	"testing"
)

func linkPolicy() Policy {
	p := testPolicy()
	p.ReturnPasswordField = ""
	p.ReturnLinkField = "%PASSWORD_LINK%"
	p.SiteURL = "https://site.example/"
	return p
}

func linkEnv() *env {
	e := newEnv(linkPolicy(), ann())
	e.ac.fields["%PASSWORD_LINK%"] = "13"
	return e
}

// TestSyncer_LinkForNewUser: with only RETURN_LINK_FIELD, a new user's link
// (WordPress's reset key, login escaped) is written once, no password is
// written or kept, and a failed AC write is retried with the same link.
func TestSyncer_LinkForNewUser(t *testing.T) {
	e := linkEnv()
	e.ac.fail = failOn("SetField", 1, errTransient)
	if _, err := e.s.Run(context.Background(), Request{ContactID: "42", Action: ActionAdd}); err == nil {
		t.Fatal("first run: want the AC write's error")
	}
	if link, ok := e.pw.pending(linkKey("42")); !ok || link == "" {
		t.Fatal("the link is not pending after a failed write")
	}
	res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd})
	mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd})
	want := "https://site.example/wp-login.php?action=rp&key=key-1&login=ann%40example.com"
	if len(e.ac.writes) != 1 || e.ac.writes[0] != (fieldWrite{"42", "13", want}) {
		t.Fatalf("%d AC writes, want exactly the link %s", len(e.ac.writes), want)
	}
	if !hasString(res.Changes, "link_returned") || e.wp.count("ResetKey") != 1 || len(e.wp.resetMails) != 0 {
		t.Errorf("changes %v, %d keys, %d mails; want link_returned, 1 key, no mail", res.Changes, e.wp.count("ResetKey"), len(e.wp.resetMails))
	}
	if len(e.pw.m) != 0 {
		t.Errorf("pending after the write: %d entries, want none", len(e.pw.m))
	}
}

// TestSyncer_PasswordReset: one reset email and one link per request, for
// an existing or a new user; a protected user gets neither.
func TestSyncer_PasswordReset(t *testing.T) {
	e := linkEnv()
	res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionPasswordReset})
	if !res.Created || len(e.wp.resetMails) != 1 || len(e.ac.writes) != 1 || e.wp.count("ResetKey") != 1 {
		t.Fatalf("new user: %+v, mails %v, %d writes", res, e.wp.resetMails, len(e.ac.writes))
	}
	mustRun(t, e.s, Request{ContactID: "42", Action: ActionPasswordReset})
	if len(e.wp.resetMails) != 2 || len(e.ac.writes) != 2 || e.ac.writes[1].value == e.ac.writes[0].value {
		t.Fatalf("second reset: mails %v, %d writes: want a second mail and a new link", e.wp.resetMails, len(e.ac.writes))
	}

	e = linkEnv()
	e.wp.seed(annUser("editor"), "secret")
	res = mustRun(t, e.s, Request{ContactID: "42", Action: ActionPasswordReset})
	if res.Status != StatusIgnored || len(e.wp.resetMails) != 0 || len(e.ac.writes) != 0 {
		t.Fatalf("editor: %+v, mails %v, %d writes; want ignored, nothing sent", res, e.wp.resetMails, len(e.ac.writes))
	}

	// A link made (and its email sent) by a run whose AC write failed is
	// written by the retry without a second email.
	e = linkEnv()
	e.wp.seed(annUser(), "secret")
	e.ac.fail = failOn("SetField", 1, errTransient)
	if _, err := e.s.Run(context.Background(), Request{ContactID: "42", Action: ActionPasswordReset}); !errors.Is(err, errTransient) {
		t.Fatalf("first run: %v", err)
	}
	mustRun(t, e.s, Request{ContactID: "42", Action: ActionPasswordReset})
	if len(e.wp.resetMails) != 1 || len(e.ac.writes) != 1 {
		t.Fatalf("retry: mails %v, %d writes; want one of each", e.wp.resetMails, len(e.ac.writes))
	}
}

// TestSyncer_LinkOwedAcrossFailure: a user created whose link could not be
// made yet (WordPress failed after the create) gets its link on the retry,
// once, with no second user.
func TestSyncer_LinkOwedAcrossFailure(t *testing.T) {
	e := linkEnv()
	e.wp.fail = failOn("ResetKey", 1, errTransient)
	if _, err := e.s.Run(context.Background(), Request{ContactID: "42", Action: ActionAdd}); !errors.Is(err, errTransient) {
		t.Fatalf("first run: %v, want the reset key's error", err)
	}
	if link, ok := e.pw.pending(linkKey("42")); !ok || link != "" {
		t.Fatalf("after the failure: pending %q %v, want a link owed", link, ok)
	}
	mustRun(t, e.s, Request{ContactID: "42", Action: ActionUpdate}) // no link from an update
	if len(e.ac.writes) != 0 {
		t.Fatalf("update wrote %d AC values", len(e.ac.writes))
	}
	res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd})
	if len(e.wp.ids()) != 1 || len(e.ac.writes) != 1 || !hasString(res.Changes, "link_returned") || len(e.pw.m) != 0 {
		t.Fatalf("retry: users %v, %d writes, changes %v, pending %d", e.wp.ids(), len(e.ac.writes), res.Changes, len(e.pw.m))
	}
}

// TestSyncer_PasswordAndLink: with both fields set a new user gets its
// link and its password, each written once, the link first (the pending
// password is what proves the user ours on a retry, so it goes last).
func TestSyncer_PasswordAndLink(t *testing.T) {
	e := linkEnv()
	e.s.Policy.ReturnPasswordField = "12"
	mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd})
	mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd})
	if len(e.ac.writes) != 2 || e.ac.writes[0].fieldID != "13" || e.ac.writes[1].fieldID != "12" || len(e.pw.m) != 0 {
		t.Fatalf("%d AC writes, pending %d; want one to field 13 then one to 12, nothing pending", len(e.ac.writes), len(e.pw.m))
	}
}

// TestSyncer_NoLinkForSomeoneElsesUser: an add whose first lookup failed
// (WordPress down) leaves a link owed; the retry finds a user linked to the
// contact before (a member of WP Fusion's days) that wpbridge did not
// create: no reset key is made and nothing goes to AC, whatever its role,
// with a password field or without.
func TestSyncer_NoLinkForSomeoneElsesUser(t *testing.T) {
	for _, tc := range []struct {
		name     string
		roles    []string
		pwField  string
		restarts bool // the retry runs on a new Syncer (nothing seen)
	}{
		{"Subscriber", []string{"subscriber"}, "", false},
		{"SubscriberAfterRestart", []string{"subscriber"}, "", true},
		{"WithPasswordField", []string{"subscriber"}, "12", false},
		{"Roleless", []string{}, "", false},
		{"Author", []string{"author"}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := linkEnv()
			e.s.Policy.ReturnPasswordField = tc.pwField
			e.wp.seed(annUser(tc.roles...), "theirs")
			e.wp.fail = failOn("Lookup", 1, errTransient)
			if _, err := e.s.Run(context.Background(), Request{ContactID: "42", Action: ActionAdd}); !errors.Is(err, errTransient) {
				t.Fatalf("first run: %v, want the lookup's error", err)
			}
			if tc.restarts {
				e.s.Seen = NewSeen(10)
			}
			res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd})
			if res.UserID != 5 || res.Created || len(e.wp.users) != 1 {
				t.Fatalf("retry: %+v, %d users; want user 5 found", res, len(e.wp.users))
			}
			if n := e.wp.count("ResetKey"); n != 0 || len(e.ac.writes) != 0 || hasString(res.Changes, "link_returned") {
				t.Errorf("retry made %d reset keys and %d AC writes (changes %v); want none", n, len(e.ac.writes), res.Changes)
			}
			if len(e.pw.m) != 0 {
				t.Errorf("%d pending entries kept, want none", len(e.pw.m))
			}
			if e.wp.passwords[5] != "theirs" {
				t.Error("the user's password changed")
			}
		})
	}
}

// TestSyncer_LinkAfterCrashBeforeReturn: a create WordPress carried out whose
// answer was lost is found by contact id on the retry and proven ours by the
// pending password: its link is written once (links only: the pending
// password is kept for that proof even without RETURN_PASSWORD_FIELD).
func TestSyncer_LinkAfterCrashBeforeReturn(t *testing.T) {
	e := linkEnv()
	e.wp.afterCreate = errTransient
	if _, err := e.s.Run(context.Background(), Request{ContactID: "42", Action: ActionAdd}); !errors.Is(err, errTransient) {
		t.Fatalf("first run: %v, want the lost answer's error", err)
	}
	e.wp.afterCreate = nil
	e.s.Seen = NewSeen(10)
	res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd})
	if len(e.wp.users) != 1 || len(e.ac.writes) != 1 || e.ac.writes[0].fieldID != "13" || !hasString(res.Changes, "link_returned") {
		t.Fatalf("retry: %d users, %d AC writes, changes %v; want one user and its link", len(e.wp.users), len(e.ac.writes), res.Changes)
	}
	if len(e.pw.m) != 0 {
		t.Errorf("%d pending entries kept, want none", len(e.pw.m))
	}
}

// TestSyncer_NotificationSharesTheLinkKey: send_notification with
// RETURN_LINK_FIELD mints one reset key: the create sends no email of its
// own (it would make a key the link's key then replaces), and WordPress's
// new-user email goes out with the link's key, once, also when making the
// key failed the first time.
func TestSyncer_NotificationSharesTheLinkKey(t *testing.T) {
	e := linkEnv()
	e.wp.fail = failOn("ResetKey", 1, errTransient)
	req := Request{ContactID: "42", Action: ActionAdd, SendNotification: true}
	if _, err := e.s.Run(context.Background(), req); err == nil {
		t.Fatal("first run: want the reset key's error")
	}
	res := mustRun(t, e.s, req)
	mustRun(t, e.s, req)
	if len(e.wp.creates) != 1 || e.wp.creates[0].SendNotification {
		t.Fatalf("%d creates, notification with the create: %v; want one create leaving the email to the link", len(e.wp.creates), len(e.wp.creates) == 1 && e.wp.creates[0].SendNotification)
	}
	if len(e.wp.notified) != 1 || e.wp.keys != 1 || len(e.ac.writes) != 1 {
		t.Fatalf("new-user emails %v, %d keys, %d AC writes; want one email carrying the one key written to AC", e.wp.notified, e.wp.keys, len(e.ac.writes))
	}
	if !hasString(res.Changes, "link_returned") {
		t.Errorf("changes %v, want link_returned", res.Changes)
	}
}
