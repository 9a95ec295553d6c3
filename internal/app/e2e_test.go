package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/app"
	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

var passwordPattern = regexp.MustCompile(`^[A-Za-z0-9]{16}$`)

// TestNewContactFixture sends the captured AC webhook verbatim, as AC sends
// it, and checks the WordPress user and the password written back to AC.
func TestNewContactFixture(t *testing.T) {
	b := startBridge(t, map[string]string{"FIELD_MAP": "first_name=firstName,last_name=lastName,billing_phone=phone"}, app.Options{})
	body, err := os.ReadFile("../../activecampaign/testdata/contact_tag_added.txt")
	if err != nil {
		t.Fatal(err)
	}
	const email = "robert@example.com"
	b.deleteUserByEmail(email)
	mailsBefore := len(b.Site.MailsTo(t, email)) // the address is fixed by the fixture
	id := b.addContact(acfake.Contact{ID: "123456", Email: email, FirstName: "Robert", LastName: "Smith", Phone: "+1 555-010-1234"})
	b.AC.ResetRequests()

	r := b.post("/", hook("add", "role", "customer", "send_notification", "true"), string(body))
	if r.Code != http.StatusOK || r.Status != "done" || r.UserID == 0 {
		t.Fatalf("answer = %d %q %q (user %d), want 200 done with a user", r.Code, r.Status, r.Message, r.UserID)
	}
	t.Cleanup(func() { b.deleteUserByEmail(email) })

	u := b.user(r.UserID)
	if u.Username != email || u.Email != email {
		t.Errorf("login/email = %q/%q, want %q", u.Username, u.Email, email)
	}
	if !slices.Equal(u.Roles, []string{"customer"}) {
		t.Errorf("roles = %v, want [customer]", u.Roles)
	}
	if u.FirstName != "Robert" || u.LastName != "Smith" {
		t.Errorf("names = %q %q, want Robert Smith", u.FirstName, u.LastName)
	}
	if got := u.MetaString("billing_phone"); got != "+1 555-010-1234" {
		t.Errorf("billing_phone meta = %q", got)
	}
	if got := u.MetaString("activecampaign_contact_id"); got != id {
		t.Errorf("contact id meta = %q, want %q", got, id)
	}
	wantTags := []string{"[KRC] Registered for Challenge", "[KRC] Registered - 07/20/26", "[KRC] RFC START - 07/20/26"}
	if got := u.MetaStrings("activecampaign_tags"); !slices.Equal(got, wantTags) {
		t.Errorf("tags = %q, want %q", got, wantTags)
	}

	writes := b.AC.FieldWrites(id)
	if len(writes) != 1 || writes[0].Field != b.PassID {
		t.Fatalf("AC field writes = %d (fields %v), want 1 to the password field %s", len(writes), fieldsOf(writes), b.PassID)
	}
	pw := writes[0].Value
	if !passwordPattern.MatchString(pw) {
		t.Errorf("written password has %d chars or not only letters and digits", len(pw))
	}
	if !b.Site.CheckPassword(t, email, pw) {
		t.Error("the password written to AC does not log the user in")
	}
	if mails := b.Site.MailsTo(t, email)[mailsBefore:]; len(mails) != 1 {
		t.Errorf("mails to the new user = %d, want 1 (send_notification=true)", len(mails))
	}
	// GET contact, GET fields (resolve %WP_PASSWORD%), PUT contact. Tags came in the payload.
	if n := b.acRequests(); n != 3 {
		t.Errorf("AC requests for a new contact = %d, want 3: %v", n, b.AC.Requests())
	}

	// The same add again: no second user, no second password.
	b.AC.ResetRequests()
	r = b.post("/", hook("add", "role", "customer"), string(body))
	if r.Code != http.StatusOK || r.UserID != u.ID {
		t.Fatalf("second add = %d %q user %d, want 200 for user %d", r.Code, r.Message, r.UserID, u.ID)
	}
	if n := len(b.AC.FieldWrites(id)); n != 1 {
		t.Errorf("field writes after a second add = %d, want still 1", n)
	}
	if !b.Site.CheckPassword(t, email, pw) {
		t.Error("second add changed the password")
	}
	if n := b.acRequests(); n != 1 {
		t.Errorf("AC requests for a second add = %d, want 1 (contact only)", n)
	}
}

func fieldsOf(ws []acfake.FieldWrite) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Field)
	}
	return out
}

// TestAutomationFixtureCleanURL sends the automation webhook body (no type,
// fields keyed by perstag) to the clean URL form.
func TestAutomationFixtureCleanURL(t *testing.T) {
	b := startBridge(t, nil, app.Options{})
	body, err := os.ReadFile("../../activecampaign/testdata/automation.txt")
	if err != nil {
		t.Fatal(err)
	}
	const email = "gil.payet@ulule.com"
	b.deleteUserByEmail(email)
	t.Cleanup(func() { b.deleteUserByEmail(email) })
	b.addContact(acfake.Contact{ID: "27760", Email: email, FirstName: "Gil", LastName: "Payet"})
	r := b.post("/webhooks/activecampaign/add", url.Values{"access_key": {testAccessKey}}, string(body))
	if r.Code != http.StatusOK || r.Status != "done" {
		t.Fatalf("answer = %d %q %q", r.Code, r.Status, r.Message)
	}
	u := b.user(r.UserID)
	if !slices.Equal(u.Roles, []string{"subscriber"}) {
		t.Errorf("roles = %v, want the default [subscriber]", u.Roles)
	}
	if got := u.MetaStrings("activecampaign_tags"); !slices.Equal(got, []string{"Clicksend Test"}) {
		t.Errorf("tags = %q", got)
	}
}

// TestUpdateAndUpdateTags covers the two refresh actions on a linked user,
// and their AC request cost.
func TestUpdateAndUpdateTags(t *testing.T) {
	b := startBridge(t, nil, app.Options{})
	email := wptest.UniqueEmail(t, "upd")
	id := b.addContact(acfake.Contact{Email: email, FirstName: "Ann", LastName: "Lee", Tags: []string{"Gold"}})
	r := b.post("/", hook("add"), contactBody(id, email))
	if r.Status != "done" {
		t.Fatalf("add = %d %q %q", r.Code, r.Status, r.Message)
	}
	t.Cleanup(func() { b.deleteUserByEmail(email) })
	if got := b.user(r.UserID).MetaStrings("activecampaign_tags"); !slices.Equal(got, []string{"Gold"}) {
		t.Errorf("tags loaded from AC = %q, want [Gold]", got)
	}

	// update: the contact changed in AC; its tags come with the payload.
	c, _ := b.AC.Contact(id)
	c.FirstName = "Anna"
	b.AC.AddContact(c)
	b.AC.ResetRequests()
	r = b.post("/", hook("update", "role", "customer"), contactBody(id, email, "Gold", "Silver"))
	if r.Code != http.StatusOK || r.Status != "done" {
		t.Fatalf("update = %d %q %q", r.Code, r.Status, r.Message)
	}
	u := b.user(r.UserID)
	if u.FirstName != "Anna" || !slices.Equal(u.Roles, []string{"customer"}) {
		t.Errorf("after update: first name %q roles %v, want Anna [customer]", u.FirstName, u.Roles)
	}
	if got := u.MetaStrings("activecampaign_tags"); !slices.Equal(got, []string{"Gold", "Silver"}) {
		t.Errorf("tags after update = %q", got)
	}
	if n := b.acRequests(); n != 1 {
		t.Errorf("AC requests for update with payload tags = %d, want 1", n)
	}

	// update_tags with tags in the payload costs no AC request.
	b.AC.ResetRequests()
	r = b.post("/", hook("update_tags"), contactBody(id, email, "Silver"))
	if r.Status != "done" {
		t.Fatalf("update_tags = %d %q %q", r.Code, r.Status, r.Message)
	}
	if got := b.user(r.UserID).MetaStrings("activecampaign_tags"); !slices.Equal(got, []string{"Silver"}) {
		t.Errorf("tags after update_tags = %q", got)
	}
	if n := b.acRequests(); n != 0 {
		t.Errorf("AC requests for update_tags with payload tags = %d, want 0", n)
	}

	// update and update_tags for a contact no user is linked to: ignored.
	other := b.addContact(acfake.Contact{Email: wptest.UniqueEmail(t, "nouser")})
	for _, action := range []string{"update", "update_tags"} {
		r = b.post("/", hook(action), contactBody(other, ""))
		if r.Code != http.StatusOK || r.Status != "ignored" {
			t.Errorf("%s of an unknown contact = %d %q %q, want 200 ignored", action, r.Code, r.Status, r.Message)
		}
	}

	// role=administrator on update is never applied.
	r = b.post("/", hook("update", "role", "administrator"), contactBody(id, email))
	if got := b.user(r.UserID).Roles; slices.Contains(got, "administrator") {
		t.Fatalf("update with role=administrator gave roles %v", got)
	}
}

// TestAddRoles checks role precedence and the ALLOWED_ROLES policy, and that
// an existing user with another role is linked but left alone.
func TestAddRoles(t *testing.T) {
	b := startBridge(t, nil, app.Options{})
	ctx := context.Background()

	// role=administrator falls back to DEFAULT_ROLE with a warning.
	email := wptest.UniqueEmail(t, "admin-ask")
	id := b.addContact(acfake.Contact{Email: email})
	r := b.post("/", hook("add", "role", "administrator"), contactBody(id, email))
	if r.Status != "done" {
		t.Fatalf("add = %d %q %q", r.Code, r.Status, r.Message)
	}
	t.Cleanup(func() { b.deleteUserByEmail(email) })
	if got := b.user(r.UserID).Roles; !slices.Equal(got, []string{"subscriber"}) {
		t.Errorf("roles = %v, want [subscriber]", got)
	}
	if !strings.Contains(b.Logs.String(), "not in ALLOWED_ROLES") {
		t.Error("no warning logged for the refused role")
	}

	// An editor with the contact's email is linked, keeps its role and password.
	// (The plugin refuses to hand out editor through an application password:
	// the role is written in the database.)
	edEmail := wptest.UniqueEmail(t, "editor")
	ed, err := b.WP.Users.Create(ctx, wordpress.UserRequest{Fields: map[string]string{"username": strings.Split(edEmail, "@")[0],
		"email": edEmail, "password": "Editor-Pass-123"}, Roles: []string{"subscriber"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.deleteUserByEmail(edEmail) })
	b.Site.SetCapabilities(t, ed.ID, "editor")
	edID := b.addContact(acfake.Contact{Email: edEmail, FirstName: "Ed"})
	r = b.post("/", hook("add", "role", "customer"), contactBody(edID, edEmail, "VIP"))
	if r.Status != "done" || r.UserID != ed.ID {
		t.Fatalf("add for an editor's email = %d %q %q user %d, want done for %d", r.Code, r.Status, r.Message, r.UserID, ed.ID)
	}
	u := b.user(ed.ID)
	if !slices.Equal(u.Roles, []string{"editor"}) {
		t.Errorf("editor's roles = %v, want [editor]", u.Roles)
	}
	if u.MetaString("activecampaign_contact_id") != edID || !slices.Equal(u.MetaStrings("activecampaign_tags"), []string{"VIP"}) {
		t.Errorf("editor not linked/tagged: meta %v", u.Meta)
	}
	if u.FirstName != "" {
		t.Errorf("editor's first name changed to %q", u.FirstName)
	}
	if !b.Site.CheckPassword(t, u.Username, "Editor-Pass-123") {
		t.Error("editor's password changed")
	}
	if n := len(b.AC.FieldWrites(edID)); n != 0 {
		t.Errorf("password written to AC for an existing user (%d writes)", n)
	}
}

// TestLoginCollision gives a new user a suffixed login when the email-login
// is taken by someone else.
func TestLoginCollision(t *testing.T) {
	b := startBridge(t, nil, app.Options{})
	email := wptest.UniqueEmail(t, "collide")
	other := wptest.UniqueEmail(t, "other")
	if _, err := b.WP.Users.Create(context.Background(), wordpress.UserRequest{Fields: map[string]string{"username": email, "email": other, "password": "x-Pass-123456"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.deleteUserByEmail(other) })
	id := b.addContact(acfake.Contact{Email: email})
	r := b.post("/", hook("add"), contactBody(id, email))
	if r.Status != "done" {
		t.Fatalf("add = %d %q %q", r.Code, r.Status, r.Message)
	}
	t.Cleanup(func() { b.deleteUserByEmail(email) })
	u := b.user(r.UserID)
	if u.Username == email || !strings.HasPrefix(u.Username, email) {
		t.Errorf("login = %q, want %q plus a number", u.Username, email)
	}
}

// TestAsyncAndErrors covers async=true, bad requests and the health endpoints.
func TestAsyncAndErrors(t *testing.T) {
	b := startBridge(t, nil, app.Options{})
	email := wptest.UniqueEmail(t, "async")
	id := b.addContact(acfake.Contact{Email: email})
	r := b.post("/", hook("add", "async", "true", "send_notification", "true"), contactBody(id, email))
	if r.Code != http.StatusAccepted || r.Status != "queued" || r.WebhookID == 0 {
		t.Fatalf("async add = %d %q, want 202 queued", r.Code, r.Status)
	}
	t.Cleanup(func() { b.deleteUserByEmail(email) })
	wait.For(t, 15*time.Second, "the async user", func() (bool, string) {
		_, err := b.WP.Users.FindByEmail(context.Background(), email)
		n := len(b.AC.FieldWrites(id))
		return err == nil && n == 1, fmt.Sprintf("find user: %v; %d passwords written", err, n)
	})
	wait.For(t, 5*time.Second, "the notification mail in async mode", func() (bool, string) {
		n := len(b.Site.MailsTo(t, email))
		return n == 1, fmt.Sprintf("%d mails", n)
	})

	before := b.acRequests()
	for _, tc := range []struct {
		name  string
		query url.Values
		body  string
		code  int
	}{
		{"wrong key", url.Values{"wpf_action": {"add"}, "access_key": {"nope"}}, contactBody(id, email), 403},
		{"no key", url.Values{"wpf_action": {"add"}}, contactBody(id, email), 403},
		{"unknown action", hook("delete"), contactBody(id, email), 400},
		{"empty action", hook(""), contactBody(id, email), 400},
		{"no contact id", hook("add"), "contact%5Bemail%5D=x%40y.z", 400},
		{"contact id not a number", hook("add"), "contact%5Bid%5D=12abc", 400},
		{"bad send_notification", hook("add", "send_notification", "maybe"), contactBody(id, email), 400},
		{"bad role", hook("add", "role", "<script>"), contactBody(id, email), 400},
	} {
		if r := b.post("/", tc.query, tc.body); r.Code != tc.code || r.Message == "" {
			t.Errorf("%s: %d %q, want %d with a message", tc.name, r.Code, r.Message, tc.code)
		}
	}
	if r := b.post("/", hook("test"), ""); r.Code != 200 || r.Status != "ok" {
		t.Errorf("test action = %d %q, want 200 ok", r.Code, r.Status)
	}
	if r := b.post("/", hook("add", "contact_id", id, "email", email), ""); r.Code != 200 {
		t.Errorf("browser-test fallback contact_id = %d %q", r.Code, r.Message)
	}
	// Rejected webhooks cost nothing; the fallback add of a linked contact
	// without payload tags costs 2 (contact, contact tags; tag names cached).
	if got := b.acRequests() - before; got != 2 {
		t.Errorf("AC requests for rejected webhooks + one fallback add = %d, want 2", got)
	}
	big := strings.Repeat("a", 1<<20+10)
	if r := b.post("/", hook("add"), "contact%5Bid%5D=1&x="+big); r.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("huge body = %d, want 413", r.Code)
	}
	resp, err := http.Get(b.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`wpbridge_api_requests_total{api="activecampaign",outcome="200"}`,
		`wpbridge_api_requests_total{api="wordpress",outcome="200"}`,
		`wpbridge_webhooks_received_total{action="add",status="202"} 1`,
		`wpbridge_webhooks_received_total{action="invalid",status="400"}`,
		"wpbridge_webhooks_pending 0",
	} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if r := b.send(http.MethodGet, p, nil, "", nil); r.Code != 200 {
			t.Errorf("%s = %d %q", p, r.Code, r.Message)
		}
	}
}

// TestEchoAndRelink: the update AC sends back after wpbridge wrote the
// password is ignored without any AC request; an update for a contact id AC
// no longer knows (merged) relinks the user by email.
func TestEchoAndRelink(t *testing.T) {
	b := startBridge(t, nil, app.Options{})
	email := wptest.UniqueEmail(t, "echo")
	id := b.addContact(acfake.Contact{Email: email, FirstName: "Eve"})
	r := b.post("/", hook("add"), contactBody(id, email))
	if r.Status != "done" || len(b.AC.FieldWrites(id)) != 1 {
		t.Fatalf("add = %d %q %q, field writes %d", r.Code, r.Status, r.Message, len(b.AC.FieldWrites(id)))
	}
	t.Cleanup(func() { b.deleteUserByEmail(email) })
	userID := r.UserID

	b.AC.ResetRequests()
	echo := url.Values{"contact[id]": {id}, "contact[email]": {email}, "type": {"update"}, "initiated_from": {"api"}}
	r = b.post("/", hook("update"), echo.Encode())
	if r.Code != http.StatusOK || r.Status != "ignored" || !strings.Contains(r.Message, "echo") {
		t.Errorf("echo update = %d %q %q, want 200 ignored (echo)", r.Code, r.Status, r.Message)
	}
	if n := b.acRequests(); n != 0 {
		t.Errorf("AC requests for the echo = %d, want 0", n)
	}

	// AC merges the contact into a new id: the old id answers 404.
	c, _ := b.AC.Contact(id)
	b.AC.DeleteContact(id)
	c.ID, c.FirstName = "", "Evelyn"
	newID := b.addContact(c)
	r = b.post("/", hook("update"), contactBody(id, email, "Merged"))
	if r.Code != http.StatusOK || r.Status != "done" || r.UserID != userID {
		t.Fatalf("update of a merged contact = %d %q %q", r.Code, r.Status, r.Message)
	}
	u := b.user(userID)
	if got := u.MetaString("activecampaign_contact_id"); got != newID {
		t.Errorf("contact id meta = %q, want the surviving contact %q", got, newID)
	}
	if u.FirstName != "Evelyn" {
		t.Errorf("first name = %q, want the surviving contact's Evelyn", u.FirstName)
	}
}

// TestRejectedCredentialsPause: a revoked WordPress application password or
// AC key pauses work and says so in /readyz and the log, instead of burning
// the webhooks' attempts; the webhook stays queued.
func TestRejectedCredentialsPause(t *testing.T) {
	for _, tc := range []struct {
		name, key, value, want string
	}{
		{"wordpress", "WP_APP_PASSWORD", "wron gpas swor dxxx xxxx xxxx", "WordPress"},
		{"activecampaign", "AC_API_KEY", "revoked-ac-key-000", "ActiveCampaign"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A 1ms retry horizon: a rejection counted as a failure would fail
			// the webhook at once. A short pause, so that it repeats in the test.
			const rejections = 2
			b := startBridge(t, map[string]string{tc.key: tc.value, "SYNC_TIMEOUT": "1s"},
				app.Options{RetryHorizon: time.Millisecond, AuthPause: time.Second})
			b.secrets = append(b.secrets, tc.value)
			email := wptest.UniqueEmail(t, "paused")
			id := b.addContact(acfake.Contact{Email: email})
			r := b.post("/", hook("add"), contactBody(id, email))
			if r.Code != http.StatusAccepted || r.Status != "queued" {
				t.Fatalf("add with rejected credentials = %d %q %q, want 202 queued", r.Code, r.Status, r.Message)
			}
			wait.For(t, 10*time.Second, "/readyz to report the pause", func() (bool, string) {
				rr := b.send(http.MethodGet, "/readyz", nil, "", nil)
				return rr.Code == http.StatusServiceUnavailable && strings.Contains(rr.Message, tc.want) &&
					strings.Contains(rr.Message, "rejected the credentials"), fmt.Sprintf("%d %q", rr.Code, rr.Message)
			})
			if !strings.Contains(b.Logs.String(), "work paused") {
				t.Error("the pause is not in the log")
			}
			if got := b.send(http.MethodGet, "/healthz", nil, "", nil); got.Code != http.StatusOK {
				t.Errorf("/healthz = %d while paused, want 200 (alive)", got.Code)
			}
			// Paused, not failed: rejected again and again, the webhook would
			// have failed for good had a rejection counted as a failure.
			wait.For(t, 30*time.Second, "the round to be rejected several times", func() (bool, string) {
				n := metric(b.URL, `wpbridge_jobs_total{action="add",outcome="paused"}`)
				return n > rejections, fmt.Sprintf("%d rounds paused", n)
			})
			o, err := b.App.Queue.Outcome(context.Background(), r.WebhookID)
			if err != nil {
				t.Fatal(err)
			}
			if o.State != "pending" {
				t.Errorf("webhook is %s (%s) while credentials are rejected, want still pending", o.State, o.Message)
			}
		})
	}
}

// TestHostileData: injection attempts in names and tags are stored as plain
// data in WordPress, and role=administrator never grants administrator.
func TestHostileData(t *testing.T) {
	b := startBridge(t, nil, app.Options{})
	email := wptest.UniqueEmail(t, "hostile")
	first := `Robert'); DROP TABLE wp_users;--`
	last := `<script>alert(1)</script>`
	tags := []string{`<img src=x onerror=alert(1)>`, `'; DELETE FROM wp_usermeta; --`, `a:1:{i:0;s:1:"x";}`}
	id := b.addContact(acfake.Contact{Email: email, FirstName: first, LastName: last})
	r := b.post("/", hook("add", "role", "administrator"), contactBody(id, email, tags...))
	if r.Code != http.StatusOK || r.Status != "done" {
		t.Fatalf("add = %d %q %q", r.Code, r.Status, r.Message)
	}
	t.Cleanup(func() { b.deleteUserByEmail(email) })
	u := b.user(r.UserID)
	if u.FirstName != first {
		t.Errorf("first name stored as %q, want it verbatim", u.FirstName)
	}
	if strings.Contains(u.LastName, "<script") { // WordPress strips tags from names itself
		t.Errorf("last name stored as %q, with markup", u.LastName)
	}
	if got := u.MetaStrings("activecampaign_tags"); !slices.Equal(got, tags) {
		t.Errorf("tags stored as %q, want them verbatim", got)
	}
	if !slices.Equal(u.Roles, []string{"subscriber"}) {
		t.Errorf("roles = %v, want [subscriber]", u.Roles)
	}
	// WordPress is intact: the admin user and the REST API still answer.
	if _, _, err := b.WP.Users.List(context.Background(), 1, 1); err != nil {
		t.Errorf("WordPress after hostile data: %v", err)
	}
	if rr := b.send(http.MethodGet, "/healthz", nil, "", nil); rr.Code != http.StatusOK {
		t.Errorf("/healthz = %d", rr.Code)
	}
}
