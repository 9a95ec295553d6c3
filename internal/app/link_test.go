package app_test

// Set-password links (RETURN_LINK_FIELD) and password_reset end to end:
// the link written to the fake AC is followed through WordPress's real
// wp-login.php?action=rp form, and reset emails are read from the test
// WordPress's mail log.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
)

// startLinkBridge starts wpbridge writing links only (no password field)
// and returns the id of the AC link field.
func startLinkBridge(t *testing.T) (*bridge, string) {
	t.Helper()
	ac, passID := newAC(t, 5)
	linkID := ac.AddField("Password link", "PASSWORD_LINK", "text")
	b := startBridgeWith(t, setup{AC: ac, PassID: passID, Env: map[string]string{
		"RETURN_PASSWORD_FIELD": "", "RETURN_LINK_FIELD": "%PASSWORD_LINK%"}})
	return b, linkID
}

// onlyLink returns the one value written to the contact in AC: the link.
func onlyLink(t *testing.T, b *bridge, contact, linkField string) string {
	t.Helper()
	writes := b.AC.FieldWrites(contact)
	if len(writes) != 1 || writes[0].Field != linkField {
		t.Fatalf("contact %s: %d field writes, want one, to the link field %s", contact, len(writes), linkField)
	}
	link := writes[0].Value
	if !strings.HasPrefix(link, b.Site.URL+"/wp-login.php?action=rp&key=") {
		t.Fatalf("the value written is not a set-password link of %s (%d chars)", b.Site.URL, len(link))
	}
	return link
}

// TestSetPasswordLink: a new user's link is written once (no password
// anywhere), even under a storm of duplicate adds, sets a password through WordPress's own form, that password
// logs in, and the link then no longer works.
func TestSetPasswordLink(t *testing.T) {
	b, linkField := startLinkBridge(t)
	email := wptest.UniqueEmail(t, "link")
	id := b.addContact(acfake.Contact{Email: email})
	t.Cleanup(func() { b.deleteUserByEmail(email) })
	// A duplicate storm: AC (or an automation) sends the add 8 times at once.
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = sendHook(b.URL, hook("add"), contactBody(id, email))
		}()
	}
	wg.Wait()
	for _, code := range codes {
		if code != http.StatusOK && code != http.StatusAccepted {
			t.Fatalf("add answers %v, want 200 or 202", codes)
		}
	}
	waitSettled(t, b.URL, 30*time.Second)
	u, err := contactUser(b.Site, b.WP, id, email)
	if err != nil {
		t.Fatal(err)
	}
	link := onlyLink(t, b, id, linkField)
	login := u.Username
	password := "Set-By-Link-" + id
	if err := setPasswordByLink(t, link, password); err != nil {
		t.Fatalf("set a password through the link: %v", err)
	}
	if !b.Site.CheckPassword(t, login, password) {
		t.Fatal("the password set through the link does not log in")
	}
	if err := setPasswordByLink(t, link, password+"-again"); err == nil || !strings.Contains(err.Error(), "refused the link") {
		t.Fatalf("second use of the link: %v, want WordPress to refuse it", err)
	}
	if strings.Contains(b.Logs.String(), link[strings.Index(link, "key="):]) {
		t.Error("the link's key appeared in the log")
	}
}

// TestSetPasswordLinkExpires: a link older than WordPress's expiry (a day)
// is refused by WordPress.
func TestSetPasswordLinkExpires(t *testing.T) {
	b, linkField := startLinkBridge(t)
	email := wptest.UniqueEmail(t, "link-expired")
	id := b.addContact(acfake.Contact{Email: email})
	t.Cleanup(func() { b.deleteUserByEmail(email) })
	r := b.post("/", hook("add"), contactBody(id, email))
	if r.Status != "done" || r.UserID == 0 {
		t.Fatalf("add = %d %q %q", r.Code, r.Status, r.Message)
	}
	link := onlyLink(t, b, id, linkField)
	b.Site.AgeResetKey(t, r.UserID, 25*time.Hour)
	if err := setPasswordByLink(t, link, "Too-Late-"+id); err == nil || !strings.Contains(err.Error(), "expiredkey") {
		t.Fatalf("a link a day old: %v, want WordPress to refuse it as expired", err)
	}
}

// TestPasswordReset: password_reset sends exactly one WordPress reset
// email, carrying the key of the link written to AC; an editor gets none.
func TestPasswordReset(t *testing.T) {
	b, linkField := startLinkBridge(t)
	u, id := lifecycleUser(t, b, "reset")
	before := len(b.Site.MailsTo(t, u.Email))
	r := b.post("/", hook("password_reset"), contactBody(id, u.Email))
	if r.Status != "done" || r.UserID != u.ID {
		t.Fatalf("password_reset = %d %q %q", r.Code, r.Status, r.Message)
	}
	link := onlyLink(t, b, id, linkField)
	var mails []wptest.Mail
	wait.For(t, 10*time.Second, "the reset email", func() (bool, string) {
		mails = b.Site.MailsTo(t, u.Email)
		return len(mails) > before, ""
	})
	if n := len(mails) - before; n != 1 {
		t.Fatalf("%d mails to the user, want 1", n)
	}
	key, _ := url.ParseQuery(link[strings.Index(link, "?")+1:])
	if !strings.Contains(mails[len(mails)-1].Message, "key="+key.Get("key")) {
		t.Error("the reset email does not carry the key of the link written to AC")
	}
	if err := setPasswordByLink(t, link, "Reset-"+id); err != nil || !b.Site.CheckPassword(t, u.Username, "Reset-"+id) {
		t.Errorf("the link of a password_reset does not set a password: %v", err)
	}

	ed, edID := lifecycleUser(t, b, "reset-editor", "editor")
	before = len(b.Site.MailsTo(t, ed.Email))
	r = b.post("/", hook("password_reset"), contactBody(edID, ed.Email))
	if r.Status != "ignored" || !strings.Contains(r.Message, "holds the role editor") {
		t.Errorf("editor: password_reset = %d %q %q, want ignored with the reason", r.Code, r.Status, r.Message)
	}
	if n := len(b.Site.MailsTo(t, ed.Email)) - before; n != 0 || len(b.AC.FieldWrites(edID)) != 0 {
		t.Errorf("editor: %d mails, %d AC writes; want none", n, len(b.AC.FieldWrites(edID)))
	}
}

var rpKey = regexp.MustCompile(`name="rp_key" value="([^"]*)"`)

// setPasswordByLink does what a browser does with a set-password link:
// follows it (WordPress moves the key into a cookie and redirects to the
// form), then posts the form with the new password. It fails when WordPress
// refuses the link.
func setPasswordByLink(t *testing.T, link, password string) error {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := hc.Get(link)
	if err != nil {
		return errors.New("GET the link failed")
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(resp.Request.URL.RawQuery, "error=") {
		return errors.New("WordPress refused the link: " + resp.Request.URL.Query().Get("error"))
	}
	m := rpKey.FindSubmatch(page)
	if m == nil {
		return errors.New("no reset form")
	}
	form := url.Values{"pass1": {password}, "pass2": {password}, "rp_key": {string(m[1])}, "wp-submit": {"Save Password"}}
	u := *resp.Request.URL
	u.RawQuery = "action=resetpass"
	resp, err = hc.PostForm(u.String(), form)
	if err != nil {
		return errors.New("POST the form failed")
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(resp.Request.URL.RawQuery, "error=") || !strings.Contains(string(page), "Your password has been reset") {
		return errors.New("WordPress did not reset the password")
	}
	return nil
}

// TestCrashLinks kills wpbridge (SIGKILL) while it creates users with
// set-password links only, restarts it on the same database, and checks
// that every contact got one user and one link (a second write of the same
// link only when the first was sent before the kill), that no password was
// written, and that the links work.
func TestCrashLinks(t *testing.T) {
	ac, _ := newAC(t, 5)
	linkField := ac.AddField("Password link", "PASSWORD_LINK", "text")
	c := newChild(t, ac)
	c.env["RETURN_PASSWORD_FIELD"] = ""
	c.env["RETURN_LINK_FIELD"] = "%PASSWORD_LINK%"
	c.start()
	const n = 30
	cs := crashStorm(t, c.p.URL, ac, n)
	killAfterAThird(t, c, ac, cs, "links")
	killedAt := time.Now()
	c.start()
	waitSettled(t, c.p.URL, 3*time.Minute)
	site := wptest.Env(t)
	wp := site.Client(t)
	var ids []int64
	t.Cleanup(func() { deleteUsers(t, wp, ids) })
	for i, x := range cs {
		u, err := contactUser(site, wp, x.id, x.email)
		if err != nil {
			t.Errorf("contact %s: %v", x.id, err)
			if more, err := site.UserIDsWithEmail(context.Background(), x.email); err == nil {
				ids = append(ids, more...)
			}
			continue
		}
		ids = append(ids, u.ID)
		ws := ac.FieldWrites(x.id)
		if len(ws) == 0 {
			t.Errorf("contact %s: no link written", x.id)
			continue
		}
		for _, w := range ws {
			if w.Field != linkField || w.Value != ws[0].Value {
				t.Errorf("contact %s: a write to field %s that is not its one link", x.id, w.Field)
			}
		}
		if len(ws) > 2 || (len(ws) == 2 && !ws[0].At.Before(killedAt)) {
			t.Errorf("contact %s: link written %d times, not explained by the kill", x.id, len(ws))
		}
		if i%6 == 0 || len(ws) > 1 {
			if err := setPasswordByLink(t, ws[0].Value, "Crash-Link-"+x.id); err != nil || !site.CheckPassword(t, u.Username, "Crash-Link-"+x.id) {
				t.Errorf("contact %s: the link written to AC does not set a password that logs in (%v)", x.id, err)
			}
		}
	}
	if err := c.p.Stop(30 * time.Second); err != nil {
		t.Errorf("stop: %v", err)
	}
	checkSecrets(t, c.logs.String(), ac, contactIDs(cs), testAccessKey, testACKey, site.AppPassword)
}

// TestNewUserEmailAndLinkShareOneKey: send_notification=true with
// RETURN_LINK_FIELD sends WordPress's new-user email once, and its
// set-password link carries the very key of the link written to AC (one
// reset key for both: a second key would make the emailed link stop
// working). The emailed link then sets a password.
func TestNewUserEmailAndLinkShareOneKey(t *testing.T) {
	b, linkField := startLinkBridge(t)
	email := wptest.UniqueEmail(t, "link-notify")
	id := b.addContact(acfake.Contact{Email: email})
	t.Cleanup(func() { b.deleteUserByEmail(email) })
	r := b.post("/", hook("add", "send_notification", "true"), contactBody(id, email))
	if r.Status != "done" || r.UserID == 0 {
		t.Fatalf("add = %d %q %q", r.Code, r.Status, r.Message)
	}
	link := onlyLink(t, b, id, linkField)
	var mails []wptest.Mail
	wait.For(t, 10*time.Second, "the new-user email", func() (bool, string) {
		mails = b.Site.MailsTo(t, email)
		return len(mails) > 0, ""
	})
	if len(mails) != 1 {
		t.Fatalf("%d mails to the new user, want 1", len(mails))
	}
	linkKey, _ := url.ParseQuery(link[strings.Index(link, "?")+1:])
	// 6.1 writes ?action=rp&key=KEY&login=..., 6.8 ?login=...&key=KEY&action=rp.
	m := regexp.MustCompile(`wp-login\.php\?[^\s<>]*?\bkey=([^&\s<>]+)`).FindStringSubmatch(mails[0].Message)
	if m == nil {
		t.Fatal("the new-user email carries no set-password link")
	}
	if m[1] != linkKey.Get("key") {
		t.Fatal("the new-user email's key differs from the key of the link written to AC: the emailed link no longer works")
	}
	if err := setPasswordByLink(t, link, "Notified-"+id); err != nil {
		t.Errorf("the shared key does not set a password: %v", err)
	}
}
