package wptest

// Helpers for tests of the companion plugin's outbox: a sign-up through
// WordPress's own registration form, an application password for any user,
// and a lock serialising the tests (of every package) that switch the
// site-wide outbox or acknowledge its events.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Register signs up login with email through wp-login.php?action=register,
// as a visitor does (allowing registration on the site first), and returns the
// new user's id. The request is WordPress core's, with no application
// password: what the outbox must record.
func (e Site) Register(t testing.TB, login, email string) int64 {
	t.Helper()
	e.exec(t, "UPDATE wp_options SET option_value = '1' WHERE option_name = 'users_can_register'")
	form := url.Values{"user_login": {login}, "user_email": {email}, "wp-submit": {"Register"}}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL+"/wp-login.php?action=register", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("register %s: %v", login, stripURL(err))
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.Contains(loc, "checkemail=registered") {
		t.Fatalf("register %s: answer %d, Location %q; want 302 to checkemail=registered", login, resp.StatusCode, loc)
	}
	ids, err := e.UserIDsWithEmail(t.Context(), email)
	if err != nil || len(ids) != 1 {
		t.Fatalf("registered user %s: ids %v, %v", email, ids, err)
	}
	return ids[0]
}

// UserAppPassword creates an application password for user id (as the
// administrator, through core's REST route) and returns it: requests with it
// are that user's own, not wpbridge's.
func (e Site) UserAppPassword(t testing.TB, id int64) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	q := url.Values{"rest_route": {fmt.Sprintf("/wp/v2/users/%d/application-passwords", id)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL+"/?"+q.Encode(), bytes.NewReader([]byte(`{"name":"wptest"}`)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(e.Username, e.AppPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("application password for user %d: %v", id, err)
	}
	defer resp.Body.Close()
	var out struct {
		Password string `json:"password"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusCreated || out.Password == "" {
		t.Fatalf("application password for user %d: status %d, %v", id, resp.StatusCode, err)
	}
	return out.Password
}

// LockOutbox holds, until the test ends, a lock shared by every test process
// using this site: the outbox is one switch and one queue for the whole site,
// and acknowledging deletes every event up to an id, other tests' too.
func (e Site) LockOutbox(t testing.TB) { e.lock(t, "outbox") }

// exec runs one SQL statement on the test database.
func (e Site) exec(t testing.TB, sql string) {
	t.Helper()
	socket := e.dbSocket(t)
	bin, err := exec.LookPath("mariadb")
	if err != nil {
		t.Skip("no mariadb client")
	}
	cmd := exec.CommandContext(t.Context(), bin, "--no-defaults", "--socket="+socket, "-u"+dbUser, dbName, "-e", sql)
	cmd.Env = append(os.Environ(), "MYSQL_PWD="+dbPassword)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sql: %v: %s", err, out)
	}
}

// SetOutboxNextID makes next the id of the outbox's next event (its table's
// AUTO_INCREMENT): how a test reaches the outbox's bound without writing
// 100,000 events.
func (e Site) SetOutboxNextID(t testing.TB, next int64) {
	t.Helper()
	e.exec(t, fmt.Sprintf("ALTER TABLE wp_wpbridge_outbox AUTO_INCREMENT = %d", next))
}
