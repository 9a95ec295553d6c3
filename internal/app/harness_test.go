package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sethvargo/go-envconfig"
	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/internal/app"
	"github.com/wpbridge/wpbridge/internal/config"

	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/childproc"
	"github.com/wpbridge/wpbridge/internal/testing/syncbuf"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	code := m.Run()
	childproc.RemoveBinary()
	os.Exit(code)
}

const (
	testAccessKey = "e2e-access-key-4f9d2c"
	testACKey     = "e2e-ac-api-key-8b1e77"
	testSecretKey = "e2e-secret-key-0123456789abcdef0123456789"
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
	Site   *wptest.Site   // default: wptest.Env (e.g. a site of the multisite network)
}

// startBridge starts wpbridge with env overrides on top of the test defaults.
func startBridge(t *testing.T, env map[string]string, opts app.Options) *bridge {
	t.Helper()
	return startBridgeWith(t, setup{Env: env, Opts: opts})
}

// newAC starts a fake AC with the test key and a WP_PASSWORD field, and
// returns the field's id.
func newAC(t *testing.T, rateLimit int) (*acfake.Server, string) {
	ac := acfake.NewServer(acfake.Config{APIKey: testACKey, RateLimit: rateLimit, NewContactID: newContactID})
	t.Cleanup(ac.Close)
	return ac, ac.AddField("WP Password", "WP_PASSWORD", "text")
}

// baseEnv is the environment every test bridge starts from. SYNC_TIMEOUT is
// well above the default 4s: tests that expect a webhook done within its
// request must not see it queued because the machine is busy (tests of the
// timeout set their own).
func baseEnv(site wptest.Site, acURL, dbPath string) map[string]string {
	return map[string]string{
		"SYNC_TIMEOUT":          "30s",
		"ACCESS_KEY":            testAccessKey,
		"AC_API_URL":            acURL,
		"AC_API_KEY":            testACKey,
		"WP_URL":                site.URL,
		"WP_USERNAME":           site.Username,
		"WP_APP_PASSWORD":       site.AppPassword,
		"DATABASE_URL":          "sqlite:" + dbPath,
		"RETURN_PASSWORD_FIELD": "%WP_PASSWORD%",
		"SECRET_KEY":            testSecretKey, // seals pending passwords on PostgreSQL
		"ALLOWED_ROLES":         "subscriber,customer",
		"LOG_LEVEL":             "debug",
	}
}

// startBridgeWith starts an in-process wpbridge as s says.
func startBridgeWith(t *testing.T, s setup) *bridge {
	t.Helper()
	var site wptest.Site
	if s.Site != nil {
		site = *s.Site
	} else {
		site = wptest.Env(t)
	}
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
	if _, ok := s.Env["SYNC_TO_AC"]; !ok {
		s.Opts.LeaveOutbox = true // tests of the outbox may run beside on the same WordPress
	}
	log := logrus.New()
	log.SetOutput(b.Logs)
	log.SetLevel(logrus.DebugLevel)
	b.secrets = []string{testAccessKey, testACKey, testSecretKey, site.AppPassword}

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
// A contact without an id gets one no other test uses (see reserveContactIDs).
func (b *bridge) addContact(c acfake.Contact) string {
	if c.ID == "" {
		c.ID = strconv.FormatInt(reserveContactIDs(1), 10)
	}
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

// acRequests counts the fake AC's requests since the last reset.
func (b *bridge) acRequests() int { return len(b.AC.Requests()) }

// deleteUserByEmail removes the users with email: a leftover from an earlier
// run, or the test's own (duplicates included) when it ends.
func (b *bridge) deleteUserByEmail(email string) {
	b.t.Helper()
	ids, err := b.Site.UserIDsWithEmail(context.Background(), email)
	if err != nil {
		b.t.Fatalf("find users with a test address: %v", err)
	}
	for _, id := range ids {
		if err := b.WP.Users.Delete(context.Background(), id, 1); err != nil && !errors.Is(err, wordpress.ErrNotFound) {
			b.t.Fatalf("delete user %d: %v", id, err)
		}
	}
}

// contactIDMeta is the user meta key linking a WordPress user to its contact.
const contactIDMeta = "activecampaign_contact_id"

// contactUser returns the one user of a contact: exactly one user of the site
// has the contact's email, it is linked to the contact id, and it is the user
// the contact id finds. This is what a test can check of the shared
// WordPress: other packages' tests add and remove users at the same time, so
// counting all of its users says nothing. Safe for any goroutine.
func contactUser(site wptest.Site, wp *wordpress.Client, contactID, email string) (*wordpress.User, error) {
	ctx := context.Background()
	ids, err := site.UserIDsWithEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	if len(ids) != 1 {
		return nil, fmt.Errorf("%d users have the contact's email, want 1", len(ids))
	}
	u, err := wp.Users.Get(ctx, ids[0])
	if err != nil {
		return nil, err
	}
	if got := u.MetaString(contactIDMeta); got != contactID {
		return nil, fmt.Errorf("user %d with the contact's email is linked to contact %q, want %q", u.ID, got, contactID)
	}
	linked, err := wp.Users.FindByMeta(ctx, contactIDMeta, contactID)
	if err != nil {
		return nil, fmt.Errorf("find the user linked to contact %s: %w", contactID, err)
	}
	if linked.ID != u.ID {
		return nil, fmt.Errorf("contact %s finds user %d, not user %d with its email", contactID, linked.ID, u.ID)
	}
	return u, nil
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

// metric reads one series from base's /metrics, such as
// `wpbridge_jobs_total{action="add",outcome="retry"}`: its value, 0 when the
// series is absent (a counter not yet counted), or -1 when /metrics fails.
func metric(base, series string) int {
	resp, err := hookClient.Get(base + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				return int(f)
			}
		}
	}
	return 0
}

// pendingWebhooks reads wpbridge_webhooks_pending from base's /metrics, or -1.
func pendingWebhooks(base string) int { return metric(base, "wpbridge_webhooks_pending") }

// waitSettled waits until base has no pending webhook.
func waitSettled(t *testing.T, base string, d time.Duration) {
	t.Helper()
	wait.For(t, d, "every webhook to finish", func() (bool, string) {
		n := pendingWebhooks(base)
		return n == 0, fmt.Sprintf("%d pending", n)
	})
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

// Contact ids are links to WordPress users (contact-id meta), so a test that
// reused one could find a user another test or an earlier run left behind.
var contactIDSeq struct {
	once sync.Once
	next atomic.Int64
}

// newContactID is a contact id no other test uses, for the contacts a fake
// AC creates itself (a WordPress sign-up synced to it): with the fake's own
// sequence they would follow the last id a test chose, which another test
// may have reserved since, and link its users to this test's.
func newContactID() string { return strconv.FormatInt(reserveContactIDs(1), 10) }

// reserveContactIDs reserves n consecutive contact ids and returns the first.
// No other test of this run gets them, and no earlier run used them: a run
// starts from the time in milliseconds times 1000, and uses far fewer than
// 1000 ids per millisecond it runs. (The ids repeat after about 27 hours.)
func reserveContactIDs(n int) int64 {
	contactIDSeq.once.Do(func() { contactIDSeq.next.Store(time.Now().UnixMilli() % 100_000_000 * 1000) })
	return contactIDSeq.next.Add(int64(n)) - int64(n)
}

// testSeed is the seed of the tests' random choices (the order webhooks are
// sent in): fixed, so that a run can be repeated, unless WPBRIDGE_STORM_SEED
// sets another. It is logged so that a failure can be replayed.
func testSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(1)
	if v := os.Getenv("WPBRIDGE_STORM_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("WPBRIDGE_STORM_SEED=%q: want an unsigned integer", v)
		}
		seed = n
	}
	t.Logf("random seed %d (replay with WPBRIDGE_STORM_SEED=%d)", seed, seed)
	return seed
}
