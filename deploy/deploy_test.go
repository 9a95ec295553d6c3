// Package deploy_test runs the shipped deployment files with the real servers:
// Debian's nginx and caddy in front of a real wpbridge binary and the test
// WordPress (scripts/wordpress.sh), and systemd-analyze on the unit.
//
//	bash scripts/proxies.sh install   # nginx, caddy (services kept stopped)
//	go test -race -count=1 ./deploy/...
//
// Without nginx or caddy their tests are skipped (WPBRIDGE_REQUIRE_PROXIES=1
// makes them fail instead); without the test WordPress the end-to-end test is
// skipped (WPBRIDGE_REQUIRE_WP=1 makes it fail).
package deploy_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/childproc"
	"github.com/wpbridge/wpbridge/internal/testing/syncbuf"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

const (
	testACKey = "deploy-test-ac-api-key-5c1d"
	// clientAddr is where the test's requests come from: not the proxies'
	// 127.0.0.1, so wpbridge's client_ip tells whose address it logged.
	clientAddr = "127.0.0.2"
	// spoofedIP is sent by the client in X-Forwarded-For; nobody may believe it.
	spoofedIP = "198.51.100.7"
)

// testAccessKey is fresh for each run, so no log can hold it by chance.
var testAccessKey = "deploy-key-" + randomHex(12)

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// bridge is a wpbridge binary running against the test WordPress and a fake AC.
type bridge struct {
	URL  string
	Addr string
	AC   *acfake.Server
	Logs *syncbuf.Buffer
}

// startBridge starts wpbridge; trustProxies sets TRUSTED_PROXIES=127.0.0.1
// (the proxies' address).
func startBridge(t *testing.T, site wptest.Site, trustProxies bool) *bridge {
	t.Helper()
	ac := acfake.NewServer(acfake.Config{APIKey: testACKey, RateLimit: 5})
	t.Cleanup(ac.Close)
	ac.AddField("WP Password", "WP_PASSWORD", "text")
	b := &bridge{Addr: freeAddr(t), AC: ac, Logs: &syncbuf.Buffer{}}
	env := []string{
		"LISTEN_ADDR=" + b.Addr,
		"ACCESS_KEY=" + testAccessKey,
		"AC_API_URL=" + ac.URL(),
		"AC_API_KEY=" + testACKey,
		"WP_URL=" + site.URL,
		"WP_USERNAME=" + site.Username,
		"WP_APP_PASSWORD=" + site.AppPassword,
		"DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "wpbridge.db"),
		"RETURN_PASSWORD_FIELD=%WP_PASSWORD%",
		"ALLOWED_ROLES=subscriber,customer",
		"ADMIN_TOKEN=" + randomHex(16), // the admin page exists: the proxies must still not reach it
		"LOG_LEVEL=debug",              // wpbridge's access log (every path it served) is at debug
		"LOG_FORMAT=json",
	}
	if trustProxies {
		env = append(env, "TRUSTED_PROXIES=127.0.0.1")
	}
	p, err := childproc.Start(t.Context(), childproc.Binary(t), env, b.Logs)
	if err != nil {
		t.Fatalf("start wpbridge: %v\n%s", err, b.Logs.String())
	}
	t.Cleanup(func() {
		if err := p.Stop(30 * time.Second); err != nil {
			t.Errorf("stop wpbridge: %v", err)
		}
	})
	b.URL = p.URL
	return b
}

// entries returns wpbridge's JSON log lines.
func (b *bridge) entries() []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(b.Logs.String(), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) == nil {
			out = append(out, e)
		}
	}
	return out
}

// servedPaths returns every path wpbridge's access log recorded.
func (b *bridge) servedPaths() []string {
	var out []string
	for _, e := range b.entries() {
		if p, ok := e["path"].(string); ok && e["msg"] == "request" {
			out = append(out, p)
		}
	}
	return out
}

// client sends requests from clientAddr, with a spoofed X-Forwarded-For,
// and never follows redirects.
type client struct {
	t  *testing.T
	hc *http.Client
}

func newClient(t *testing.T) *client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(clientAddr)}, Timeout: 10 * time.Second}
	return &client{t: t, hc: &http.Client{
		Timeout:       60 * time.Second,
		Transport:     &http.Transport{DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// reply is one answer, with wpbridge's JSON fields when the body is JSON.
type reply struct {
	Code   int
	Header http.Header
	Body   []byte
	Status string // wpbridge's "status"
	UserID int64  // wpbridge's "user_id"
}

// send sends method to rawURL (kept as written: "/admin/../x" is not cleaned).
// Errors are reported without the URL, which may hold the access key.
func (c *client) send(method, rawURL, form string) reply {
	c.t.Helper()
	var body io.Reader
	if form != "" {
		body = strings.NewReader(form)
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, rawURL, body)
	if err != nil {
		c.t.Fatalf("build request: %v", errors.Unwrap(err))
	}
	if form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	req.Header.Set("X-Forwarded-For", spoofedIP)
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, req.URL.Path, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	r := reply{Code: resp.StatusCode, Header: resp.Header}
	r.Body, _ = io.ReadAll(resp.Body)
	var j struct {
		Status string `json:"status"`
		UserID int64  `json:"user_id"`
	}
	if json.Unmarshal(r.Body, &j) == nil {
		r.Status, r.UserID = j.Status, j.UserID
	}
	return r
}

// fromWordPress reports whether an answer came from WordPress.
func (r reply) fromWordPress() bool {
	return r.Header.Get("X-Redirect-By") == "WordPress" ||
		strings.Contains(r.Header.Get("Link"), "https://api.w.org/") ||
		strings.Contains(string(r.Body), "/wp-includes/") || strings.Contains(string(r.Body), "/wp-content/")
}

// contactBody is an AC webhook body, as AC encodes it.
func contactBody(id, email string, tags ...string) string {
	v := url.Values{"contact[id]": {id}, "contact[email]": {email}, "contact[first_name]": {"Proxied"},
		"type": {"subscribe"}, "initiated_from": {"admin"}}
	if len(tags) > 0 {
		v.Set("contact[tags]", strings.Join(tags, ", "))
	}
	return v.Encode()
}

// contactBase returns a contact id base no earlier run used, so leftovers in
// the shared WordPress never match this run's contacts.
func contactBase() int64 { return time.Now().UnixMilli() % 100_000_000 * 1000 }

// TestProxies puts each shipped proxy configuration in front of a wpbridge
// binary and the test WordPress, once with TRUSTED_PROXIES set and once
// without: webhooks reach wpbridge and create users, the site still reaches
// WordPress, /admin/ never reaches wpbridge, no access key is logged, and
// wpbridge logs the client's address only when it trusts the proxy.
func TestProxies(t *testing.T) {
	site := wptest.Env(t)
	wpHost := strings.TrimPrefix(strings.TrimPrefix(site.URL, "http://"), "https://")
	base := contactBase()
	n := 0
	for _, trusted := range []bool{true, false} {
		t.Run("trusted_proxies="+strconv.FormatBool(trusted), func(t *testing.T) {
			b := startBridge(t, site, trusted)
			for _, name := range []string{"nginx", "caddy"} {
				t.Run(name, func(t *testing.T) {
					p := startProxy(t, name, b.Addr, wpHost)
					n++
					id := strconv.FormatInt(base+int64(n), 10)
					checkWebhooks(t, p, b, site, id, trusted)
					checkSite(t, p)
					checkAdminHidden(t, p, b)
					checkProxyLogs(t, p)
				})
			}
		})
	}
}

// checkWebhooks sends the three kinds of webhook URL through p: the WP Fusion
// URL by GET (test) and by POST with the key first (add), and the clean path
// (update_tags). The add creates contact id's user in WordPress.
func checkWebhooks(t *testing.T, p *proxy, b *bridge, site wptest.Site, id string, trusted bool) {
	t.Helper()
	c := newClient(t)
	key := url.QueryEscape(testAccessKey)
	if r := c.send("GET", p.URL+"/?wpf_action=test&access_key="+key, ""); r.Code != 200 || r.Status != "ok" {
		t.Fatalf("GET /?wpf_action=test through %s: %d %.200s", p.name, r.Code, r.Body)
	}

	email := wptest.UniqueEmail(t, "deploy-"+p.name)
	b.AC.AddContact(acfake.Contact{ID: id, Email: email, FirstName: "Proxied", LastName: p.name, Tags: []string{"Deploy"}})
	r := c.send("POST", p.URL+"/?access_key="+key+"&wpf_action=add&role=customer", contactBody(id, email))
	if (r.Code != 200 || r.Status != "done") && r.Code != 202 {
		t.Fatalf("POST /?access_key=...&wpf_action=add through %s: %d %.200s", p.name, r.Code, r.Body)
	}
	wp := site.Client(t)
	var u *wordpress.User
	wait.For(t, 60*time.Second, "the contact's user in WordPress", func() (bool, string) {
		found, err := wp.Users.FindByEmail(t.Context(), email)
		u = found
		return err == nil, ""
	})
	t.Cleanup(func() { _ = wp.Users.Delete(context.Background(), u.ID, 1) })
	if r.Status == "done" && r.UserID != u.ID {
		t.Errorf("wpbridge answered user_id %d, the contact's user is %d", r.UserID, u.ID)
	}
	if got := u.MetaString("activecampaign_contact_id"); got != id {
		t.Errorf("user %d: contact id meta %q, want %s", u.ID, got, id)
	}
	if !slices.Contains(u.Roles, "customer") {
		t.Errorf("user %d: roles %q, want customer", u.ID, u.Roles)
	}
	if len(b.AC.FieldWrites(id)) == 0 {
		t.Errorf("no password written back to AC for contact %s", id)
	}

	r = c.send("POST", p.URL+"/webhooks/activecampaign/update_tags?access_key="+key, contactBody(id, email, "Deploy", "Proxied"))
	if r.Code != 200 && r.Code != 202 {
		t.Fatalf("POST /webhooks/activecampaign/update_tags through %s: %d %.200s", p.name, r.Code, r.Body)
	}
	wait.For(t, 60*time.Second, "the tags written through the clean path", func() (bool, string) {
		got, err := wp.Users.Get(t.Context(), u.ID)
		return err == nil && slices.Equal(got.MetaStrings("activecampaign_tags"), []string{"Deploy", "Proxied"}), ""
	})
	checkClientIP(t, b, id, trusted)
}

// checkClientIP checks the address wpbridge logged for contact id's add: the
// client's (from X-Forwarded-For) when it trusts the proxy, else the proxy's;
// never the address the client made up.
func checkClientIP(t *testing.T, b *bridge, id string, trusted bool) {
	t.Helper()
	want := "127.0.0.1"
	if trusted {
		want = clientAddr
	}
	var got string
	wait.For(t, 10*time.Second, "wpbridge's log line of the add", func() (bool, string) {
		for _, e := range b.entries() {
			if e["msg"] == "webhook received" && e["action"] == "add" && e["contact_id"] == id {
				got, _ = e["client_ip"].(string)
				return true, ""
			}
		}
		return false, ""
	})
	if got != want {
		t.Errorf("wpbridge logged client_ip %q, want %q (TRUSTED_PROXIES set: %v)", got, want, trusted)
	}
	if strings.Contains(b.Logs.String(), spoofedIP) {
		t.Errorf("wpbridge logged the client's made-up X-Forwarded-For address %s", spoofedIP)
	}
}

// checkSite checks that the site's own pages still reach WordPress.
func checkSite(t *testing.T, p *proxy) {
	t.Helper()
	c := newClient(t)
	for _, path := range []string{"/", "/?p=1", "/wp-login.php"} {
		if r := c.send("GET", p.URL+path, ""); !r.fromWordPress() {
			t.Errorf("GET %s through %s did not reach WordPress: %d %.200s", path, p.name, r.Code, r.Body)
		}
	}
	for _, path := range []string{"/?rest_route=/", "/wp-json/"} {
		r := c.send("GET", p.URL+path, "")
		var index struct {
			Namespaces []string `json:"namespaces"`
		}
		if err := json.Unmarshal(r.Body, &index); err != nil || !slices.Contains(index.Namespaces, "wpbridge/v1") {
			t.Errorf("GET %s through %s: not WordPress's REST index: %d %.200s", path, p.name, r.Code, r.Body)
		}
	}
}

// checkAdminHidden checks that no request through p reaches wpbridge's
// /admin/, also with paths that a proxy cleans before matching.
func checkAdminHidden(t *testing.T, p *proxy, b *bridge) {
	t.Helper()
	c := newClient(t)
	key := url.QueryEscape(testAccessKey)
	if r := c.send("GET", p.URL+"/admin/", ""); !r.fromWordPress() {
		t.Errorf("GET /admin/ through %s did not go to WordPress: %d %.200s", p.name, r.Code, r.Body)
	}
	c.send("GET", p.URL+"/admin/api/webhooks", "")
	c.send("GET", p.URL+"/admin/..?wpf_action=test&access_key="+key, "")
	r := c.send("GET", p.URL+"/admin/../webhooks/activecampaign/test?access_key="+key, "")
	if r.Code != 200 || r.Status != "ok" {
		t.Errorf("GET /admin/../webhooks/activecampaign/test through %s: %d %.200s", p.name, r.Code, r.Body)
	}
	var paths []string
	wait.For(t, 10*time.Second, "wpbridge's access log of the clean-path test", func() (bool, string) {
		paths = b.servedPaths()
		return slices.Contains(paths, "/webhooks/activecampaign/test"), ""
	})
	for _, path := range paths {
		if strings.HasPrefix(path, "/admin") || strings.Contains(path, "..") {
			t.Errorf("%s forwarded %q to wpbridge", p.name, path)
		}
	}
}

// checkProxyLogs checks the proxy's logs: they record the webhooks, never the
// access key.
func checkProxyLogs(t *testing.T, p *proxy) {
	t.Helper()
	var logs string
	wait.For(t, 10*time.Second, p.name+"'s access log of the webhooks", func() (bool, string) {
		logs = p.logs(t)
		return strings.Contains(logs, "/webhooks/activecampaign/update_tags"), ""
	})
	if lines := keyLines(logs); len(lines) > 0 {
		t.Errorf("%s's logs hold the access key (shown as KEY) in:\n%s", p.name, strings.Join(lines, "\n"))
	}
}

// keyLines returns the log lines holding the access key, with the key
// replaced by KEY.
func keyLines(logs string) []string {
	var out []string
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, testAccessKey) {
			out = append(out, strings.ReplaceAll(line, testAccessKey, "KEY"))
		}
	}
	return out
}

// TestProxyLogsWithWpbridgeDown sends webhooks through each proxy while
// wpbridge is down: the 502 is logged, the access key is not (nginx's error
// log and Caddy's own log write the whole request of a failed proxy attempt).
func TestProxyLogsWithWpbridgeDown(t *testing.T) {
	down := freeAddr(t) // nothing listens there
	for _, name := range []string{"nginx", "caddy"} {
		t.Run(name, func(t *testing.T) {
			p := startProxy(t, name, down, down)
			c := newClient(t)
			key := url.QueryEscape(testAccessKey)
			for _, target := range []string{"/?access_key=" + key + "&wpf_action=add", "/webhooks/activecampaign/add?access_key=" + key} {
				if r := c.send("POST", p.URL+target, contactBody("1", "down@example.com")); r.Code != http.StatusBadGateway {
					t.Errorf("webhook through %s with wpbridge down: %d, want 502", name, r.Code)
				}
			}
			var logs string
			wait.For(t, 10*time.Second, name+"'s access log of the 502s", func() (bool, string) {
				logs = p.logs(t)
				return strings.Count(logs, `" 502 `)+strings.Count(logs, `"status":502`) >= 2, ""
			})
			if name == "caddy" && !strings.Contains(p.out.String(), "access_key=REDACTED") {
				t.Errorf("caddy's own log has no masked request of the failed proxy attempts (key shown as KEY):\n%s",
					strings.ReplaceAll(p.out.String(), testAccessKey, "KEY"))
			}
			if lines := keyLines(logs); len(lines) > 0 {
				t.Errorf("%s's logs hold the access key (shown as KEY) after a 502 in:\n%s", name, strings.Join(lines, "\n"))
			}
		})
	}
}
