package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sethvargo/go-envconfig"
	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/internal/app"
	"github.com/wpbridge/wpbridge/internal/config"
	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/syncbuf"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

const (
	testAccessKey = "e2e-access-key-4f9d2c"
	testACKey     = "e2e-ac-api-key-8b1e77"
)

// bridge is a running wpbridge wired to the real test WordPress and a fake AC.
type bridge struct {
	t        *testing.T
	URL      string
	App      *app.App
	AC       *acfake.Server
	Site     wptest.Site
	WP       *wordpress.Client
	Logs     *syncbuf.Buffer
	PassID   string // id of the AC field receiving generated passwords
	DBPath   string // the SQLite database
	secrets  []string
	stop     func()
	stopOnce sync.Once
}

// setup says how to start a bridge; zero values take the test defaults.
type setup struct {
	Env    map[string]string // overrides of the default environment
	Opts   app.Options
	AC     *acfake.Server // default: a new fake enforcing 5 requests/second
	PassID string         // with AC: id of its WP_PASSWORD field
	WPURL  string         // default: the test WordPress (e.g. a proxy in front of it)
}

// startBridge starts wpbridge with env overrides on top of the test defaults.
func startBridge(t *testing.T, env map[string]string, opts app.Options) *bridge {
	t.Helper()
	return startBridgeWith(t, setup{Env: env, Opts: opts})
}

// newAC starts a fake AC with the test key and a WP_PASSWORD field, and
// returns the field's id.
func newAC(t *testing.T, rateLimit int) (*acfake.Server, string) {
	ac := acfake.NewServer(acfake.Config{APIKey: testACKey, RateLimit: rateLimit})
	t.Cleanup(ac.Close)
	return ac, ac.AddField("WP Password", "WP_PASSWORD", "text")
}

// baseEnv is the environment every test bridge starts from.
func baseEnv(site wptest.Site, acURL, dbPath string) map[string]string {
	return map[string]string{
		"ACCESS_KEY":            testAccessKey,
		"AC_API_URL":            acURL,
		"AC_API_KEY":            testACKey,
		"WP_URL":                site.URL,
		"WP_USERNAME":           site.Username,
		"WP_APP_PASSWORD":       site.AppPassword,
		"DATABASE_URL":          "sqlite:" + dbPath,
		"RETURN_PASSWORD_FIELD": "%WP_PASSWORD%",
		"ALLOWED_ROLES":         "subscriber,customer",
		"LOG_LEVEL":             "debug",
	}
}

// startBridgeWith starts an in-process wpbridge as s says.
func startBridgeWith(t *testing.T, s setup) *bridge {
	t.Helper()
	site := wptest.Env(t)
	b := &bridge{t: t, AC: s.AC, PassID: s.PassID, Site: site, WP: site.Client(t), Logs: &syncbuf.Buffer{}}
	if b.AC == nil {
		b.AC, b.PassID = newAC(t, 5)
	}
	b.DBPath = filepath.Join(t.TempDir(), "wpbridge.db")
	vars := baseEnv(site, b.AC.URL(), b.DBPath)
	if s.WPURL != "" {
		vars["WP_URL"] = s.WPURL
	}
	for k, v := range s.Env {
		vars[k] = v
	}
	cfg, err := config.Load(t.Context(), envconfig.MapLookuper(vars))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	log := logrus.New()
	log.SetOutput(b.Logs)
	log.SetLevel(logrus.DebugLevel)
	b.secrets = []string{testAccessKey, testACKey, site.AppPassword}

	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, log, s.Opts)
	if err != nil {
		cancel()
		t.Fatalf("app.New: %v", err)
	}
	b.App = a
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	b.URL = "http://" + ln.Addr().String()
	b.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := a.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}
	t.Cleanup(func() {
		b.Stop()
		b.checkLogs()
	})
	return b
}

// Stop shuts wpbridge down (once).
func (b *bridge) Stop() { b.stopOnce.Do(b.stop) }

// checkLogs fails the test if any secret reached the log output: the access
// key, the AC key, the application password, or a password written to AC.
func (b *bridge) checkLogs() {
	checkSecrets(b.t, b.Logs.String(), b.AC, b.allContacts(), b.secrets...)
}

// checkSecrets fails t if logs hold any of secrets or any value written to a
// field of the contacts in AC (generated passwords).
func checkSecrets(t *testing.T, logs string, ac *acfake.Server, contacts []string, secrets ...string) {
	t.Helper()
	all := append([]string(nil), secrets...)
	for _, id := range contacts {
		for _, w := range ac.FieldWrites(id) {
			all = append(all, w.Value)
		}
	}
	for _, s := range all {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("a secret (%d chars) appeared in the log output", len(s))
		}
	}
}

var contactsMu sync.Mutex
var contactsByBridge = map[*bridge][]string{}

// addContact adds a contact to the fake AC and remembers it for log checks.
func (b *bridge) addContact(c acfake.Contact) string {
	id := b.AC.AddContact(c)
	contactsMu.Lock()
	contactsByBridge[b] = append(contactsByBridge[b], id)
	contactsMu.Unlock()
	return id
}

func (b *bridge) allContacts() []string {
	contactsMu.Lock()
	defer contactsMu.Unlock()
	return contactsByBridge[b]
}

// response is a decoded webhook answer.
type response struct {
	Code      int
	Status    string `json:"status"`
	Message   string `json:"message"`
	WebhookID int64  `json:"webhook_id"`
	UserID    int64  `json:"user_id"`
}

// post sends a form body to path (with the query) as AC does.
func (b *bridge) post(path string, query url.Values, body string) response {
	b.t.Helper()
	return b.send(http.MethodPost, path, query, "application/x-www-form-urlencoded; charset=utf-8", strings.NewReader(body))
}

func (b *bridge) send(method, path string, query url.Values, contentType string, body io.Reader) response {
	b.t.Helper()
	u := b.URL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	var r response
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &r); err != nil {
		b.t.Fatalf("%s %s: answer %d is not JSON: %.200s", method, path, resp.StatusCode, raw)
	}
	r.Code = resp.StatusCode
	return r
}

// hook builds the query of a WP Fusion style webhook URL.
func hook(action string, extra ...string) url.Values {
	q := url.Values{"wpf_action": {action}, "access_key": {testAccessKey}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return q
}

// contactBody is an AC webhook body for a contact, as AC encodes it.
func contactBody(id, email string, tags ...string) string {
	v := url.Values{"contact[id]": {id}, "contact[email]": {email}, "type": {"update"}, "initiated_from": {"admin"}}
	if len(tags) > 0 {
		v.Set("contact[tags]", strings.Join(tags, ", "))
	}
	return v.Encode()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}

// acRequests counts the fake AC's requests since the last reset.
func (b *bridge) acRequests() int { return len(b.AC.Requests()) }

// deleteUserByEmail removes a leftover user from an earlier run.
func (b *bridge) deleteUserByEmail(email string) {
	b.t.Helper()
	u, err := b.WP.Users.FindByEmail(context.Background(), email)
	if errors.Is(err, wordpress.ErrNotFound) {
		return
	}
	if err != nil {
		b.t.Fatalf("find %s: %v", email, err)
	}
	if err := b.WP.Users.Delete(context.Background(), u.ID, 1); err != nil {
		b.t.Fatalf("delete user %d: %v", u.ID, err)
	}
}

// user loads a user by id from WordPress.
func (b *bridge) user(id int64) *wordpress.User {
	b.t.Helper()
	u, err := b.WP.Users.Get(context.Background(), id)
	if err != nil {
		b.t.Fatalf("get user %d: %v", id, err)
	}
	return u
}

// hookClient sends webhooks from many goroutines at once.
var hookClient = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// sendHook posts a webhook and returns the status code; it never fails the
// test, so any goroutine may call it.
func sendHook(base string, query url.Values, body string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, base+"/?"+query.Encode(), strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hookClient.Do(req)
	if err != nil {
		return 0, errors.Unwrap(err) // no URL: it holds the access key
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// pendingWebhooks reads wpbridge_webhooks_pending from base's /metrics, or -1.
func pendingWebhooks(base string) int {
	resp, err := hookClient.Get(base + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "wpbridge_webhooks_pending "); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				return int(f)
			}
		}
	}
	return -1
}

// waitSettled waits until base has no pending webhook.
func waitSettled(t *testing.T, base string, d time.Duration) {
	t.Helper()
	waitFor(t, d, "every webhook to finish", func() bool { return pendingWebhooks(base) == 0 })
}

// deleteUsers removes users by id, a few at a time.
func deleteUsers(t *testing.T, wp *wordpress.Client, ids []int64) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := wp.Users.Delete(context.Background(), id, 1); err != nil && !errors.Is(err, wordpress.ErrNotFound) {
				t.Errorf("delete user %d: %v", id, err)
			}
		}()
	}
	wg.Wait()
}

// runContactBase returns a contact id base no earlier run used, so that
// leftovers in the shared WordPress never match this run's contacts.
func runContactBase() int64 { return time.Now().UnixMilli() % 100_000_000 * 1000 }
