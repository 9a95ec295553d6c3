package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/childproc"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
)

// site is the test WordPress described by scripts/wordpress.sh's env file.
type site struct {
	URL, Username, AppPassword string
	Version                    string // WPTEST_WP_VERSION: WordPress's version
}

// readSite reads the env file and refuses any WordPress not on this machine.
func readSite(path string) (site, error) {
	vals, err := wptest.ReadEnvFile(path)
	if err != nil {
		return site{}, fmt.Errorf("WordPress env file: %w (start one: bash scripts/wordpress.sh start)", err)
	}
	s := site{URL: vals["WP_URL"], Username: vals["WP_USERNAME"], AppPassword: vals["WP_APP_PASSWORD"], Version: vals["WPTEST_WP_VERSION"]}
	if s.URL == "" || s.Username == "" || s.AppPassword == "" {
		return site{}, fmt.Errorf("%s lacks WP_URL, WP_USERNAME or WP_APP_PASSWORD", path)
	}
	if err := localOnly(s.URL); err != nil {
		return site{}, err
	}
	return s, nil
}

// localOnly accepts only http URLs on the loopback interface.
func localOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("WP_URL: %w", err)
	}
	if h := u.Hostname(); u.Scheme != "http" || (h != "127.0.0.1" && h != "localhost") {
		return fmt.Errorf("WP_URL %s:// host %q: the benchmark only targets 127.0.0.1", u.Scheme, h)
	}
	return nil
}

// bench holds what every phase shares.
type bench struct {
	bin       string // wpbridge binary
	dir       string // scratch dir: databases, logs
	site      site
	proxy     *countingProxy // in front of WordPress
	accessKey string
	acKey     string
	runID     string // makes emails unique across runs against one WordPress
	client    *http.Client
	lastID    atomic.Int64 // contact ids, unique across fakes and runs
	extraEnv  []string     // -wpbridge-env overrides
	pwField   string       // id of the password field in the current fake AC
	stderr    io.Writer    // progress lines
}

// logf prints one progress line to stderr.
func (b *bench) logf(format string, args ...any) {
	if b.stderr != nil {
		fmt.Fprintf(b.stderr, "wpbench: "+format+"\n", args...)
	}
}

// addContact adds c to ac under a fresh id: WordPress outlives each fake AC
// (and each run), so ids must never repeat or old users would be found.
func (b *bench) addContact(ac *acfake.Server, c acfake.Contact) string {
	c.ID = strconv.FormatInt(b.lastID.Add(1), 10)
	return ac.AddContact(c)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b)
}

// newFake starts a fake AC with the password field and the tag vocabulary.
func (b *bench) newFake(rateLimit int) *acfake.Server {
	ac := acfake.NewServer(acfake.Config{APIKey: b.acKey, RateLimit: rateLimit})
	b.pwField = ac.AddField("WP Password", "WP_PASSWORD", "text")
	for _, t := range tagVocabulary {
		ac.AddTag(t)
	}
	return ac
}

// start runs wpbridge with the default (durable) configuration against ac
// and WordPress through the counting proxy. Its log goes to DIR/name.log.
func (b *bench) start(ctx context.Context, name string, ac *acfake.Server) (*childproc.Process, error) {
	return b.startOn(ctx, name, ac, "sqlite:"+filepath.Join(b.dir, name+".db"))
}

// startOn is start with the database at databaseURL (several replicas may
// share a PostgreSQL one).
func (b *bench) startOn(ctx context.Context, name string, ac *acfake.Server, databaseURL string) (*childproc.Process, error) {
	addr, err := childproc.FreeAddr()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(b.dir, name+".log"))
	if err != nil {
		return nil, err
	}
	// The file stays open for the child; the OS closes it with our process.
	env := []string{
		"LISTEN_ADDR=" + addr,
		"ACCESS_KEY=" + b.accessKey,
		"AC_API_URL=" + ac.URL(),
		"AC_API_KEY=" + b.acKey,
		"WP_URL=" + b.proxy.URL(),
		"WP_USERNAME=" + b.site.Username,
		"WP_APP_PASSWORD=" + b.site.AppPassword,
		"DATABASE_URL=" + databaseURL,
		"RETURN_PASSWORD_FIELD=%WP_PASSWORD%",
	}
	env = append(env, b.extraEnv...) // later entries win in os/exec
	p, err := childproc.Start(ctx, b.bin, env, logf)
	if err != nil {
		return nil, fmt.Errorf("start wpbridge (%s): %w; see %s", name, err, logf.Name())
	}
	return p, nil
}

// hook is one webhook as AC sends it.
type hook struct {
	Action    string // add, update, update_tags
	ContactID string
	Email     string
	Tags      []string // sent as contact[tags] when HasTags
	HasTags   bool
}

func (h hook) body() string {
	v := url.Values{"contact[id]": {h.ContactID}, "contact[email]": {h.Email},
		"type": {"update"}, "initiated_from": {"admin"}}
	if h.HasTags {
		v.Set("contact[tags]", strings.Join(h.Tags, ", "))
	}
	return v.Encode()
}

// send posts h to wpbridge in the WP Fusion URL form and returns the status.
func (b *bench) send(ctx context.Context, base string, h hook, async bool) (int, error) {
	q := url.Values{"wpf_action": {h.Action}, "access_key": {b.accessKey}}
	if async {
		q.Set("async", "true")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/?"+q.Encode(), strings.NewReader(h.body()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, stripURL(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// stripURL drops the URL (it carries the access key) from a client error.
func stripURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

var metricLine = regexp.MustCompile(`^([a-z_]+)(\{[^}]*\})? ([0-9.eE+-]+|NaN)$`)

// scrape reads wpbridge's /metrics: name{labels} -> value.
func (b *bench) scrape(ctx context.Context, base string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, stripURL(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		m := metricLine.FindStringSubmatch(sc.Text())
		if m == nil || !strings.HasPrefix(m[1], "wpbridge_") {
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err == nil {
			out[m[1]+m[2]] = v
		}
	}
	return out, sc.Err()
}

// waitSettled polls wpbridge_webhooks_pending until it reads 0, at most until
// limit; it returns when it first read 0.
func (b *bench) waitSettled(ctx context.Context, base string, limit time.Duration) (time.Time, error) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		m, err := b.scrape(ctx, base)
		if err == nil {
			if v, ok := m["wpbridge_webhooks_pending"]; ok && v == 0 {
				return time.Now(), nil
			}
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return time.Time{}, fmt.Errorf("webhooks still pending after %s", limit)
}

// acLabel shortens a fake AC request to "GET /contacts/{id}".
func acLabel(r acfake.Request) string {
	if r.Path == "/admin/api.php" { // v1, as WP Fusion calls it
		return r.Method + " v1 " + r.Query.Get("api_action")
	}
	p := strings.TrimPrefix(r.Path, "/api/3")
	return r.Method + " " + digits.ReplaceAllString(p, "{id}")
}

var digits = regexp.MustCompile(`[0-9]+`)

// countLabels turns labels into "2x GET /a, PUT /b", sorted.
func countLabels(labels []string) string {
	n := map[string]int{}
	for _, l := range labels {
		n[l]++
	}
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		if n[k] > 1 {
			parts = append(parts, fmt.Sprintf("%dx %s", n[k], k))
		} else {
			parts = append(parts, k)
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// machine describes where the numbers were measured.
func machine() []string {
	cpu := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	return []string{
		"date: " + time.Now().UTC().Format("2006-01-02 15:04 MST"),
		fmt.Sprintf("cpu: %s, %d cores (GOMAXPROCS %d)", cpu, runtime.NumCPU(), runtime.GOMAXPROCS(0)),
		"go: " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		"load average at start: " + loadavg(),
	}
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// fsyncLatency measures write+fsync of 4 KiB in dir, as SQLite's commit
// does (synchronous=FULL), 200 times.
func fsyncLatency(dir string) string {
	f, err := os.CreateTemp(dir, "fsync-")
	if err != nil {
		return "fsync not measured: " + err.Error()
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 4096)
	var ds []time.Duration
	for i := range 200 {
		t0 := time.Now()
		if _, err := f.WriteAt(buf, int64(i%16)*4096); err != nil {
			return "fsync not measured: " + err.Error()
		}
		if err := f.Sync(); err != nil {
			return "fsync not measured: " + err.Error()
		}
		ds = append(ds, time.Since(t0))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	fs := "filesystem unknown"
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) == nil {
		switch st.Type {
		case 0xEF53:
			fs = "ext2/3/4"
		case 0x58465342:
			fs = "xfs"
		case 0x01021994:
			fs = "tmpfs: fsync costs nothing, durability numbers are NOT representative"
		default:
			fs = fmt.Sprintf("filesystem magic %#x", st.Type)
		}
	}
	return fmt.Sprintf("SQLite files in %s (%s); 4 KiB write+fsync there: p50 %s, p99 %s, max %s (200 samples)",
		filepath.Dir(dir), fs, ms(pct(ds, 0.5)), ms(pct(ds, 0.99)), ms(ds[len(ds)-1]))
}

// serverAckShare reads wpbridge_webhook_ack_seconds between two scrapes:
// the share of acks wpbridge itself timed under 10 ms and 20 ms.
func serverAckShare(before, after map[string]float64) string {
	d := func(k string) float64 { return after[k] - before[k] }
	n := d("wpbridge_webhook_ack_seconds_count")
	if n <= 0 {
		return "no acks recorded"
	}
	b10 := d(`wpbridge_webhook_ack_seconds_bucket{le="0.01"}`)
	b20 := d(`wpbridge_webhook_ack_seconds_bucket{le="0.02"}`)
	b50 := d(`wpbridge_webhook_ack_seconds_bucket{le="0.05"}`)
	return fmt.Sprintf("%.0f acks: %.1f%% <= 10 ms, %.1f%% <= 20 ms, %.1f%% <= 50 ms",
		n, 100*b10/n, 100*b20/n, 100*b50/n)
}
