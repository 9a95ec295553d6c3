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
		t.Fatalf("AC writes = %v, want the one link %s", e.ac.writes, want)
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
		t.Fatalf("new user: %+v, mails %v, writes %v", res, e.wp.resetMails, e.ac.writes)
	}
	mustRun(t, e.s, Request{ContactID: "42", Action: ActionPasswordReset})
	if len(e.wp.resetMails) != 2 || len(e.ac.writes) != 2 || e.ac.writes[1].value == e.ac.writes[0].value {
		t.Fatalf("second reset: mails %v, writes %v: want a second mail and a new link", e.wp.resetMails, e.ac.writes)
	}

	e = linkEnv()
	e.wp.seed(annUser("editor"), "secret")
	res = mustRun(t, e.s, Request{ContactID: "42", Action: ActionPasswordReset})
	if res.Status != StatusIgnored || len(e.wp.resetMails) != 0 || len(e.ac.writes) != 0 {
		t.Fatalf("editor: %+v, mails %v, writes %v; want ignored, nothing sent", res, e.wp.resetMails, e.ac.writes)
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
		t.Fatalf("retry: mails %v, writes %v; want one of each", e.wp.resetMails, e.ac.writes)
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
		t.Fatalf("update wrote %v", e.ac.writes)
	}
	res := mustRun(t, e.s, Request{ContactID: "42", Action: ActionAdd})
	if len(e.wp.ids()) != 1 || len(e.ac.writes) != 1 || !hasString(res.Changes, "link_returned") || len(e.pw.m) != 0 {
		t.Fatalf("retry: users %v, writes %v, changes %v, pending %d", e.wp.ids(), e.ac.writes, res.Changes, len(e.pw.m))
	}
}
