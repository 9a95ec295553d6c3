// Package wptest connects tests to the real WordPress started by
// scripts/wordpress.sh. Tests call Env, which skips them when that WordPress is
// not running (or fails them when WPBRIDGE_REQUIRE_WP=1).
//
//	bash scripts/wordpress.sh start
//	go test ./wordpress/...
package wptest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/wordpress"
)

// DefaultEnvFile is where scripts/wordpress.sh writes its env file by default.
const DefaultEnvFile = "/tmp/wpbridge-wp/env"

// Site is the running test WordPress, as described by the env file. (The type
// cannot share the name of the Env function.)
type Site struct {
	URL               string // WP_URL
	Username          string // WP_USERNAME (an administrator)
	AppPassword       string // WP_APP_PASSWORD
	AuthorUsername    string // WPTEST_AUTHOR_USERNAME (role author: cannot edit users)
	AuthorAppPassword string // WPTEST_AUTHOR_APP_PASSWORD
	MailLog           string // WPTEST_MAIL_LOG: JSON lines of captured wp_mail calls
	DBSocket          string // WPTEST_DB_SOCKET: the test database's socket (db.go)
	HookDir           string // WPTEST_HOOK_DIR: the recorded actions, a file per user (hooks.go)
	Version           string // WPTEST_WP_VERSION: WordPress's version, e.g. "6.8.1"
}

// Env reads the env file named by $WPBRIDGE_WP_ENV (default DefaultEnvFile).
// Without it the test is skipped, or fails when WPBRIDGE_REQUIRE_WP=1; the
// first skip in a package also prints one line saying how to run those tests.
func Env(t testing.TB) Site {
	t.Helper()
	keepOutOfTestCache()
	path := os.Getenv("WPBRIDGE_WP_ENV")
	if path == "" {
		path = DefaultEnvFile
	}
	vals, err := ReadEnvFile(path)
	if err == nil && (vals["WP_URL"] == "" || vals["WP_APP_PASSWORD"] == "") {
		err = fmt.Errorf("%s lacks WP_URL or WP_APP_PASSWORD", path)
	}
	if err != nil {
		if os.Getenv("WPBRIDGE_REQUIRE_WP") == "1" {
			t.Fatalf("test WordPress required: %v (run: bash scripts/wordpress.sh start)", err)
			return Site{}
		}
		notice.print(err)
		t.Skipf("no test WordPress: %v (run: bash scripts/wordpress.sh start)", err)
		return Site{}
	}
	return Site{
		URL:               vals["WP_URL"],
		Username:          vals["WP_USERNAME"],
		AppPassword:       vals["WP_APP_PASSWORD"],
		AuthorUsername:    vals["WPTEST_AUTHOR_USERNAME"],
		AuthorAppPassword: vals["WPTEST_AUTHOR_APP_PASSWORD"],
		MailLog:           vals["WPTEST_MAIL_LOG"],
		DBSocket:          vals["WPTEST_DB_SOCKET"],
		HookDir:           vals["WPTEST_HOOK_DIR"],
		Version:           vals["WPTEST_WP_VERSION"],
	}
}

// ReadEnvFile reads a KEY=VALUE file such as the one scripts/wordpress.sh writes.
// Keys and values are trimmed; blank lines, lines without "=" and lines starting
// with "#" are skipped.
func ReadEnvFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	vals := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			vals[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return vals, sc.Err()
}

// Client returns a wordpress.Client for the administrator.
func (e Site) Client(t testing.TB, opts ...wordpress.Option) *wordpress.Client {
	t.Helper()
	c, err := wordpress.NewClient(e.URL, e.Username, e.AppPassword, opts...)
	if err != nil {
		t.Fatalf("wordpress.NewClient: %v", err)
	}
	return c
}

// AuthorClient returns a wordpress.Client for the author user (no user capabilities).
func (e Site) AuthorClient(t testing.TB, opts ...wordpress.Option) *wordpress.Client {
	t.Helper()
	if e.AuthorUsername == "" || e.AuthorAppPassword == "" {
		t.Skip("env file has no author user")
	}
	c, err := wordpress.NewClient(e.URL, e.AuthorUsername, e.AuthorAppPassword, opts...)
	if err != nil {
		t.Fatalf("wordpress.NewClient: %v", err)
	}
	return c
}

// CheckPassword reports whether login/password can log in through wp-login.php
// (302 with a wordpress_logged_in_ cookie). The password is never logged.
func (e Site) CheckPassword(t testing.TB, login, password string) bool {
	t.Helper()
	form := url.Values{"log": {login}, "pwd": {password}, "testcookie": {"1"},
		"redirect_to": {e.URL + "/wp-admin/"}, "wp-submit": {"Log In"}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.URL+"/wp-login.php", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatalf("check password: build request: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "wordpress_test_cookie", Value: "WP%20Cookie%20check"})
	hc := &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("check password for %s: %v", login, stripURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return false
	}
	for _, c := range resp.Cookies() {
		if strings.HasPrefix(c.Name, "wordpress_logged_in_") && c.Value != "" && c.MaxAge >= 0 {
			return true
		}
	}
	return false
}

func stripURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// Mail is one wp_mail call captured by scripts/wp/wpbridge-test-mail.php.
type Mail struct {
	To      []string `json:"to"`
	Subject string   `json:"subject"`
	Message string   `json:"message"`
}

// Mails returns every captured mail, oldest first.
func (e Site) Mails(t testing.TB) []Mail {
	t.Helper()
	if e.MailLog == "" {
		t.Skip("env file has no WPTEST_MAIL_LOG")
	}
	b, err := os.ReadFile(e.MailLog)
	if err != nil {
		t.Fatalf("read mail log: %v", err)
	}
	var mails []Mail
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var m Mail
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("mail log line: %v", err)
		}
		mails = append(mails, m)
	}
	return mails
}

// MailsTo returns the captured mails whose recipients include addr (case-insensitive).
func (e Site) MailsTo(t testing.TB, addr string) []Mail {
	t.Helper()
	var out []Mail
	for _, m := range e.Mails(t) {
		for _, to := range m.To {
			if strings.EqualFold(strings.TrimSpace(to), addr) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

var seq atomic.Int64

// UniqueEmail returns an address no other test run uses, such as
// "prefix-1732690000123456-3@example.com" (lowercase).
func UniqueEmail(t testing.TB, prefix string) string {
	t.Helper()
	p := strings.ToLower(contactsync.SanitizeLogin(prefix))
	p = strings.NewReplacer(" ", "-", "@", "-").Replace(p)
	if p == "" {
		p = "user"
	}
	return fmt.Sprintf("%s-%d-%d@example.com", p, time.Now().UnixMicro(), seq.Add(1))
}

// UniqueSlug returns a role or key name no other test run uses, such as
// "prefix_1732690000123456_3".
func UniqueSlug(prefix string) string {
	return fmt.Sprintf("%s_%d_%d", prefix, time.Now().UnixMicro(), seq.Add(1))
}
