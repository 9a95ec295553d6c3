package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wpbridge/wpbridge/internal/app"
	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/browser"
	"github.com/wpbridge/wpbridge/internal/testing/pgtest"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
)

const testAdminToken = "e2e-admin-token-5c1a9e-77f0d2b4"

// adminAPI calls the admin JSON API with a bearer token and decodes the
// answer into out (when not nil).
func adminAPI(t *testing.T, method, url, token string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v: %.300s", method, url, err, raw)
		}
	}
	return resp.StatusCode
}

// apiWebhook is a webhook as the admin API returns it.
type apiWebhook struct {
	ID        int64  `json:"id"`
	Source    string `json:"source"`
	Action    string `json:"action"`
	ContactID string `json:"contact_id"`
	State     string `json:"state"`
	Attempts  int    `json:"attempts"`
	Error     string `json:"error"`
	UserID    int64  `json:"user_id"`
	Role      string `json:"role"`
}

// TestAdminPage: a webhook fails for good (its contact's email is invalid);
// the site owner signs in to /admin/ in a real browser, sees it failed,
// fixes the contact in AC, presses Retry and sees it done with a link to the
// new user's profile. The JSON API and River UI answer behind the same token.
func TestAdminPage(t *testing.T) {
	testAdminPage(t, map[string]string{"ADMIN_TOKEN": testAdminToken})
}

// TestAdminPagePostgres is TestAdminPage with DATABASE_URL=postgres://.
func TestAdminPagePostgres(t *testing.T) {
	wptest.Env(t) // skip before making a schema when WordPress is not running
	testAdminPage(t, map[string]string{"ADMIN_TOKEN": testAdminToken, "DATABASE_URL": pgtest.SchemaURL(t)})
}

func testAdminPage(t *testing.T, env map[string]string) {
	b := startBridge(t, env, app.Options{})
	b.secrets = append(b.secrets, testAdminToken)
	tab := browser.NewTab(t)
	email := wptest.UniqueEmail(t, "admin-page")
	b.deleteUserByEmail(email)
	t.Cleanup(func() { b.deleteUserByEmail(email) })
	contact := b.addContact(acfake.Contact{Email: "not-an-email", FirstName: "Ada"})
	r := b.post("/", hook("add", "role", "customer"), contactBody(contact, email))
	if r.Code != http.StatusUnprocessableEntity || r.Status != "failed" {
		t.Fatalf("add for a contact with an invalid email = %d %q, want 422 failed", r.Code, r.Status)
	}

	var list struct{ Webhooks []apiWebhook }
	if code := adminAPI(t, "GET", b.URL+"/admin/api/webhooks?state=failed&contact="+contact, testAdminToken, &list); code != http.StatusOK ||
		len(list.Webhooks) != 1 || list.Webhooks[0].ID != r.WebhookID || !strings.Contains(list.Webhooks[0].Error, "invalid email") {
		t.Fatalf("API list of the contact's failed webhooks = %d %+v", code, list.Webhooks)
	}
	if code := adminAPI(t, "GET", b.URL+"/admin/api/webhooks", "wrong-"+testAdminToken, nil); code != http.StatusUnauthorized {
		t.Errorf("API with a wrong token = %d, want 401", code)
	}

	row := fmt.Sprintf("#webhook-%d", r.WebhookID)
	tab.Load("open the admin page", http.StatusUnauthorized, chromedp.Navigate(b.URL+"/admin/"))
	tab.Load("sign in", http.StatusOK, chromedp.SendKeys(chromedp.CSS("#token"), testAdminToken), chromedp.Click(chromedp.CSS("#signin")))
	tab.Load("filter by contact", http.StatusOK, chromedp.Navigate(b.URL+"/admin/?state=failed&contact="+contact))
	if got := tab.Text(row + " .state"); got != "failed" {
		t.Fatalf("webhook %d shows %q, want failed", r.WebhookID, got)
	}

	b.AC.AddContact(acfake.Contact{ID: contact, Email: email, FirstName: "Ada"}) // the owner fixes the contact
	tab.Load("press Retry", http.StatusOK, chromedp.Click(chromedp.CSS(row+" button.retry")))
	wait.For(t, 60*time.Second, "the retried webhook to be done", func() (bool, string) {
		tab.Load("reload", http.StatusOK, chromedp.Reload())
		s := tab.Text("#state")
		return s == "done", "state " + s
	})

	var w apiWebhook
	if code := adminAPI(t, "GET", fmt.Sprintf("%s/admin/api/webhooks/%d", b.URL, r.WebhookID), testAdminToken, &w); code != http.StatusOK ||
		w.State != "done" || w.Attempts != 2 || w.UserID == 0 || w.Role != "customer" {
		t.Fatalf("API webhook after the retry = %d %+v, want done after 2 attempts with a user", code, w)
	}
	u, err := contactUser(b.Site, b.WP, contact, email)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != w.UserID || !slices.Contains(u.Roles, "customer") {
		t.Errorf("user %d roles %v; want the webhook's user %d with role customer", u.ID, u.Roles, w.UserID)
	}
	if got, want := tab.Attr("#profile", "href"), fmt.Sprintf("%s/wp-admin/user-edit.php?user_id=%d", b.Site.URL, u.ID); got != want {
		t.Errorf("profile link = %q, want %q", got, want)
	}
	if code := adminAPI(t, "POST", fmt.Sprintf("%s/admin/api/webhooks/%d/retry", b.URL, r.WebhookID), testAdminToken, nil); code != http.StatusConflict {
		t.Errorf("API retry of a done webhook = %d, want 409", code)
	}
	checkRiverUI(t, b, tab)
}

// checkRiverUI: River UI is served under /admin/river/ to the signed-in
// browser only, and its API sees the contact's job.
func checkRiverUI(t *testing.T, b *bridge, tab *browser.Tab) {
	t.Helper()
	if code := adminAPI(t, "GET", b.URL+"/admin/river/", "", nil); code != http.StatusUnauthorized {
		t.Errorf("River UI without a session = %d, want 401", code)
	}
	tab.Load("open River UI", http.StatusOK, chromedp.Navigate(b.URL+"/admin/river/"))
	status, err := chromedp.Run(tab.Context(), chromedp.Evaluate[int](
		`fetch("/admin/river/api/jobs?state=completed&limit=100").then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil || status != http.StatusOK {
		t.Errorf("River UI API from the signed-in page = %d, %v; want 200", status, err)
	}
}
