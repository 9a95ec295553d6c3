package admin

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/wpbridge/wpbridge/internal/testing/browser"

	"github.com/wpbridge/wpbridge/internal/history"
)

// ScreenshotEnv names a file the browser test writes its screenshot of the
// signed-in page to (docs/admin.png for the README).
const ScreenshotEnv = "WPBRIDGE_ADMIN_SCREENSHOT"

// seedBrowserHistory fills h with a small, realistic history.
func seedBrowserHistory(h *fakeHistory) (failed, other int64) {
	base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	failed = h.add(history.Detail{Webhook: history.Webhook{ReceivedAt: base, Source: "webhook", Action: "add", ContactID: "5001", State: "failed", Attempts: 1,
		Error: "contact 5001: AC has no valid email for this contact"}, Role: "customer", SendNotification: true})
	h.add(history.Detail{Webhook: history.Webhook{ReceivedAt: base.Add(2 * time.Minute), Source: "webhook", Action: "update_tags", ContactID: "5002", State: "done", Attempts: 1, UserID: 77}, HasTags: true, Tags: []string{"vip"}})
	h.add(history.Detail{Webhook: history.Webhook{ReceivedAt: base.Add(5 * time.Minute), Source: "import", Action: "add", ContactID: "5004", State: "done", Attempts: 1, UserID: 78}})
	h.add(history.Detail{Webhook: history.Webhook{ReceivedAt: base.Add(7 * time.Minute), Source: "webhook", Action: "update", ContactID: "5005", State: "ignored", Attempts: 1, Message: "no WordPress user is linked to contact 5005"}})
	other = h.add(history.Detail{Webhook: history.Webhook{ReceivedAt: base.Add(9 * time.Minute), Source: "webhook", Action: "add", ContactID: "5003", State: "failed", Attempts: 25,
		Error: "WordPress answered 403: the role may not be granted"}})
	h.add(history.Detail{Webhook: history.Webhook{ReceivedAt: base.Add(11 * time.Minute), Source: "webhook", Action: "add", ContactID: "5006", State: "pending", Attempts: 2,
		Error: "WordPress answered 502 (will retry)"}})
	return failed, other
}

// TestBrowser signs in with a real headless Chromium, retries a failed
// webhook, and checks that a wrong token and a form without its CSRF token
// are refused.
func TestBrowser(t *testing.T) {
	b := browser.NewTab(t)
	e := newEnv(t, Options{WPURL: "https://shop.example"})
	e.now = time.Now()
	failed, other := seedBrowserHistory(e.history)
	srv := httptest.NewServer(e.engine)
	t.Cleanup(srv.Close)

	b.Load("open the admin page", http.StatusUnauthorized, chromedp.Navigate(srv.URL+"/admin/"))
	b.Load("sign in with a wrong token", http.StatusUnauthorized,
		chromedp.SendKeys(chromedp.CSS("#token"), "this-is-not-the-admin-token"), chromedp.Click(chromedp.CSS("#signin")))
	if got := b.Text(".alert"); got != "Wrong token." {
		t.Errorf("wrong token page says %q, want %q", got, "Wrong token.")
	}

	row := fmt.Sprintf("#webhook-%d", failed)
	b.Load("sign in", http.StatusOK, chromedp.SendKeys(chromedp.CSS("#token"), testToken), chromedp.Click(chromedp.CSS("#signin")))
	if got := b.Text(row + " .state"); got != "failed" {
		t.Fatalf("webhook %d shows state %q, want failed", failed, got)
	}
	checkBrowserCookies(t, b, srv.URL)
	saveScreenshot(t, b)

	b.Load("press Retry", http.StatusOK, chromedp.Click(chromedp.CSS(row+" button.retry")))
	if got := b.Text("#state"); got != "pending" {
		t.Errorf("after Retry the webhook shows %q, want pending", got)
	}
	e.history.setState(failed, "done", 77) // the worker's part
	b.Load("reload", http.StatusOK, chromedp.Reload())
	if got := b.Text("#state"); got != "done" {
		t.Errorf("after the retry ran the webhook shows %q, want done", got)
	}
	if got, want := b.Attr("#profile", "href"), "https://shop.example/wp-admin/user-edit.php?user_id=77"; got != want {
		t.Errorf("profile link = %q, want %q", got, want)
	}

	otherRow := fmt.Sprintf("#webhook-%d", other)
	b.Load("back to the list", http.StatusOK, chromedp.Navigate(srv.URL+"/admin/"))
	b.Do("remove the CSRF field", chromedp.Evaluate[chromedp.Void](
		fmt.Sprintf(`document.querySelector("%s input[name=csrf]").remove()`, otherRow)))
	b.Load("post Retry without the CSRF field", http.StatusForbidden, chromedp.Click(chromedp.CSS(otherRow+" button.retry")))
	if got := e.history.state(other); got != "failed" {
		t.Errorf("webhook %d is %q after a retry without CSRF token, want failed", other, got)
	}
}

func checkBrowserCookies(t *testing.T, b *browser.Tab, base string) {
	t.Helper()
	res, err := chromedp.Call(b.Context(), network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/admin/"}})
	if err != nil {
		t.Fatalf("read cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name != sessionCookie {
			continue
		}
		if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict || strings.Contains(c.Value, testToken) {
			t.Errorf("session cookie: HttpOnly=%v SameSite=%v, holds token %v", c.HTTPOnly, c.SameSite, strings.Contains(c.Value, testToken))
		}
		return
	}
	t.Errorf("no %s cookie in the browser: %+v", sessionCookie, res.Cookies)
}

// saveScreenshot captures the signed-in page; with WPBRIDGE_ADMIN_SCREENSHOT
// set it is written there (docs/admin.png for the README).
func saveScreenshot(t *testing.T, b *browser.Tab) {
	t.Helper()
	png, err := chromedp.Run(b.Context(), chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if len(png) < 1000 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot is not a PNG (%d bytes)", len(png))
	}
	name := os.Getenv(ScreenshotEnv)
	if name == "" {
		name = filepath.Join(t.TempDir(), "admin.png")
	}
	if err := os.WriteFile(name, png, 0o644); err != nil {
		t.Fatal(err)
	}
}
