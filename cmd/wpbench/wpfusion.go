package main

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wpbridge/wpbridge/internal/testing/acfake"
)

// WP Fusion measured in the same run (issue 21): with -wpfusion DIR (a WP
// Fusion source tree), after wpbridge's scenarios for an AC delay, wpbench
// installs WP Fusion into the same WordPress, points it at a fresh fake AC
// (same rate limit and delay), sends the same lone scenarios to
// /?wpf_action=...&access_key=..., checks that each webhook really did its
// work, and removes WP Fusion again. wpbridge is stopped by then, and WP
// Fusion is never active while wpbridge is measured.

//go:embed wpfusion.php
var wpfHelperPHP []byte

// wpfPluginDir is where WP Fusion is installed inside wp-content/plugins.
const wpfPluginDir = "wp-fusion"

// wpfResult is WP Fusion's run of one scenario.
type wpfResult struct {
	Version string // WP Fusion's, from its plugin header
	Answers []answer
	AC      int    // accepted AC requests during the scenario
	AC429   int    // AC's 429s
	ACCalls string // the AC requests by kind
	Err     string // set when the run is no measurement (a check failed)
}

// wpfScenario reports whether WP Fusion is measured for sc: the lone
// scenarios whose contacts wpbridge has not seen (WP Fusion keeps no state).
func wpfScenario(sc scenario) bool { return sc.Kind == kindLone && !sc.Seen }

// wpfSite is the WordPress tree and the WP Fusion source of a run.
type wpfSite struct {
	wpDir   string // WordPress root (wp-load.php)
	src     string // WP Fusion source tree (wp-fusion.php)
	version string // WP Fusion's version
	helper  string // the PHP helper, written to the scratch dir
	port    string // WordPress's port
	phpEnv  []string
}

// newWPFSite finds the WordPress tree next to scripts/wordpress.sh's env
// file and checks the WP Fusion source tree.
func newWPFSite(wpEnv, src, siteURL, scratch string) (*wpfSite, error) {
	s := &wpfSite{wpDir: filepath.Join(filepath.Dir(wpEnv), "wp"), src: src}
	if _, err := os.Stat(filepath.Join(s.wpDir, "wp-load.php")); err != nil {
		return nil, fmt.Errorf("-wpfusion: the WordPress tree of %s: %w", wpEnv, err)
	}
	head, err := os.ReadFile(filepath.Join(src, "wp-fusion.php"))
	if err != nil {
		return nil, fmt.Errorf("-wpfusion: not a WP Fusion source tree: %w", err)
	}
	if s.version = pluginVersion(string(head)); s.version == "" {
		return nil, fmt.Errorf("-wpfusion: %s has no Version header", filepath.Join(src, "wp-fusion.php"))
	}
	u, err := url.Parse(siteURL)
	if err != nil {
		return nil, err
	}
	s.port = u.Port()
	s.helper = filepath.Join(scratch, "wpfusion.php")
	if err := os.WriteFile(s.helper, wpfHelperPHP, 0o600); err != nil {
		return nil, err
	}
	s.phpEnv = append(os.Environ(), "WPB_WP="+s.wpDir, "WPB_PORT="+s.port)
	return s, nil
}

// pluginVersion reads "Version: X" from a plugin's header.
func pluginVersion(php string) string {
	sc := bufio.NewScanner(strings.NewReader(php))
	for i := 0; sc.Scan() && i < 60; i++ {
		line := strings.TrimLeft(sc.Text(), " \t*/#")
		if v, ok := strings.CutPrefix(line, "Version:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// php runs the helper's cmd with in as JSON on stdin and decodes its answer
// into out.
func (s *wpfSite) php(ctx context.Context, cmd string, in, out any) error {
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	c := exec.CommandContext(ctx, "php", s.helper, cmd)
	c.Env = s.phpEnv
	c.Stdin = bytes.NewReader(data)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		return fmt.Errorf("php helper %s: %w: %s", cmd, err, lastLines(stderr.String(), 5))
	}
	raw, ok := helperJSON(stdout.String())
	if !ok {
		return fmt.Errorf("php helper %s: no answer: %s", cmd, lastLines(stdout.String()+stderr.String(), 5))
	}
	if err := json.Unmarshal([]byte(raw), out); err != nil {
		return fmt.Errorf("php helper %s: %w", cmd, err)
	}
	return nil
}

// helperJSON finds the helper's answer line in its output.
func helperJSON(out string) (string, bool) {
	const mark = "WPBENCH-JSON "
	i := strings.LastIndex(out, mark)
	if i < 0 {
		return "", false
	}
	raw, _, _ := strings.Cut(out[i+len(mark):], "\n")
	return raw, true
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}

func (s *wpfSite) pluginPath() string {
	return filepath.Join(s.wpDir, "wp-content", "plugins", wpfPluginDir)
}

// portPlugin lets wp_safe_remote_get (WP Fusion's load_contact) reach the
// fake AC on its port: core allows only 80, 443 and 8080 (AC's real API is on 443).
func (s *wpfSite) portPlugin() string {
	return filepath.Join(s.wpDir, "wp-content", "mu-plugins", "wpbench-wpfusion-port.php")
}

// install copies WP Fusion into the site, activates and configures it
// against ac, and checks that it is active and connected.
func (s *wpfSite) install(ctx context.Context, b *bench, ac *acfake.Server) error {
	if err := os.CopyFS(s.pluginPath(), os.DirFS(s.src)); err != nil {
		return fmt.Errorf("copy WP Fusion: %w", err)
	}
	u, err := url.Parse(ac.URL())
	if err != nil {
		return err
	}
	mu := fmt.Sprintf("<?php\n// wpbench (cmd/wpbench/wpfusion.go): WP Fusion may reach the fake AC on port %s; removed after the run.\n"+
		"add_filter('http_allowed_safe_ports', function ($ports) { $ports[] = %s; return $ports; });\n", u.Port(), u.Port())
	if err := os.WriteFile(s.portPlugin(), []byte(mu), 0o644); err != nil {
		return err
	}
	in := map[string]any{
		"options":        wpfOptions(ac.URL(), b.acKey, b.accessKey, b.pwField, b.site.URL),
		"available_tags": wpfAvailableTags(tagVocabulary),
	}
	var act struct{ Active bool }
	if err := s.php(ctx, "activate", in, &act); err != nil {
		return err
	}
	var st struct {
		Active, Configured bool
		LogTable           bool `json:"log_table"`
		Version, CRM, WP   string
	}
	if err := s.php(ctx, "status", nil, &st); err != nil {
		return err
	}
	if !st.Active || !st.Configured || st.CRM != "activecampaign" || !st.LogTable {
		return fmt.Errorf("WP Fusion not ready after activation: active %v, configured %v, crm %q, log table %v",
			st.Active, st.Configured, st.CRM, st.LogTable)
	}
	return nil
}

// uninstall deactivates WP Fusion, deletes its options and log table, and
// removes its files, whatever state a run left it in.
func (s *wpfSite) uninstall(ctx context.Context) error {
	var errs []error
	if _, err := os.Stat(s.pluginPath()); err == nil {
		var st struct{ Active bool }
		if err := s.php(ctx, "deactivate", nil, &st); err != nil {
			errs = append(errs, err)
		} else if st.Active {
			errs = append(errs, errors.New("WP Fusion still active after deactivation"))
		}
	}
	errs = append(errs, os.RemoveAll(s.pluginPath()), os.RemoveAll(s.portPlugin()))
	return errors.Join(errs...)
}

// wpfLeftover makes sure no WP Fusion (left by a killed run) is in the site
// before wpbridge is measured: with -wpfusion it is removed, without it the
// run stops.
func (b *bench) wpfLeftover(ctx context.Context, o *options) error {
	dir := filepath.Join(filepath.Dir(o.wpEnv), "wp", "wp-content", "plugins", wpfPluginDir)
	if _, err := os.Stat(dir); err != nil {
		return nil
	}
	if o.wpfusion == "" {
		return fmt.Errorf("WP Fusion is installed in %s (left by a killed run?): wpbridge would be measured beside it; remove it, or pass -wpfusion to have it removed", dir)
	}
	s, err := newWPFSite(o.wpEnv, o.wpfusion, b.site.URL, b.dir)
	if err != nil {
		return err
	}
	b.logf("removing a WP Fusion left in the site by an earlier run")
	return s.uninstall(ctx)
}

// wpfOptions is WP Fusion's wpf_options for the fake AC as its settings page
// saves them for a connected ActiveCampaign account with the defaults
// (create users, push, return the generated password to the password field,
// usernames from emails, logging on) and AC's standard field mapping.
func wpfOptions(acURL, acKey, accessKey, pwField, siteURL string) map[string]any {
	field := func(crm, label string, active bool) map[string]any {
		return map[string]any{"active": active, "crm_field": crm, "crm_label": label, "type": "text"}
	}
	return map[string]any{
		"crm":                   "activecampaign",
		"ac_url":                strings.TrimRight(acURL, "/") + "/",
		"ac_key":                acKey,
		"connection_configured": true,
		"access_key":            accessKey,
		"site_url":              siteURL,
		"staging_mode":          0,
		"create_users":          1,
		"push":                  1,
		"prevent_reapply":       1,
		"return_password":       1,
		"return_password_field": "field[" + pwField + ",0]",
		"username_format":       "email",
		"enable_logging":        1,
		"contact_fields": map[string]any{
			"first_name":      field("first_name", "First Name", true),
			"last_name":       field("last_name", "Last Name", true),
			"user_email":      field("email", "Email", true),
			"phone_number":    field("phone", "Phone", false),
			"billing_company": field("orgname", "Account Name", false),
		},
	}
}

// wpfAvailableTags is WP Fusion's tag list for AC: names keyed by name.
func wpfAvailableTags(names []string) map[string]string {
	out := make(map[string]string, len(names))
	for _, n := range names {
		out[n] = n
	}
	return out
}

// sendWPF posts h to WP Fusion's webhook URL on WordPress and reports whether
// WP Fusion answered its success page (it answers 200 to failures too).
func (b *bench) sendWPF(ctx context.Context, h hook) (answer, bool) {
	cctx, cancel := context.WithTimeout(ctx, acDeadline)
	defer cancel()
	q := url.Values{"wpf_action": {h.Action}, "access_key": {b.accessKey}}
	t0 := time.Now()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, b.site.URL+"/?"+q.Encode(), strings.NewReader(h.body()))
	if err != nil {
		return answer{Status: "error"}, false
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.client.Do(req)
	if err != nil {
		st := "error"
		if cctx.Err() != nil {
			st = "timeout"
		}
		return answer{Status: st, Latency: time.Since(t0)}, false
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	a := answer{Status: strconv.Itoa(resp.StatusCode), Latency: time.Since(t0)}
	return a, resp.StatusCode == http.StatusOK && wpfSucceeded(string(body))
}

// wpfSucceeded reports whether a WP Fusion webhook answer is its success
// page (wp_die with "<h3>Success</h3>"), not "No matching user found",
// "Doing it wrong", "Abort" or an error.
func wpfSucceeded(body string) bool { return strings.Contains(body, "<h3>Success</h3>") }

// wpfCase is one webhook of a WP Fusion scenario and what must hold after it.
type wpfCase struct {
	hook
	wantTags []string // the tags meta afterwards (any order)
	linked   bool     // the user existed before
}

// wpfPrepare adds n contacts for sc to ac and, for linked scenarios, the
// users WP Fusion would have linked (their tags meta the contact's tags);
// the webhook then brings tags that differ: in the payload, or changed in AC.
func (b *bench) wpfPrepare(ac *acfake.Server, rng *rand.Rand, sc scenario, tag string, n int) ([]wpfCase, []map[string]any) {
	hooks := b.scenarioContacts(ac, rng, tag, n)
	cases := make([]wpfCase, len(hooks))
	var links []map[string]any
	for i, h := range hooks {
		c, _ := ac.Contact(h.ContactID)
		h.Action, h.HasTags = sc.Action, sc.HasTags
		cases[i] = wpfCase{hook: h, wantTags: c.Tags, linked: sc.Linked}
		if !sc.Linked {
			continue
		}
		links = append(links, map[string]any{"email": h.Email, "contact_id": h.ContactID, "tags": c.Tags})
		next := differentTags(rng, c.Tags)
		if sc.HasTags {
			cases[i].Tags = next
		} else {
			ac.SetTags(h.ContactID, next)
		}
		cases[i].wantTags = next
	}
	return cases, links
}

// differentTags draws random tags until they differ (as a set) from old.
func differentTags(rng *rand.Rand, old []string) []string {
	for {
		t := randomTags(rng)
		if !sameSet(t, old) {
			return t
		}
	}
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// wpfCheck verifies in WordPress (and at the fake AC) that every webhook of
// cases did its work; the error names the first that did not.
func (b *bench) wpfCheck(ctx context.Context, s *wpfSite, ac *acfake.Server, cases []wpfCase) error {
	in := make([]map[string]string, len(cases))
	for i, c := range cases {
		in[i] = map[string]string{"email": c.Email}
	}
	var got []struct {
		Email     string
		UserID    int    `json:"user_id"`
		ContactID string `json:"contact_id"`
		Tags      []string
	}
	if err := s.php(ctx, "check", in, &got); err != nil {
		return err
	}
	if len(got) != len(cases) {
		return fmt.Errorf("check answered %d users for %d webhooks", len(got), len(cases))
	}
	for i, c := range cases {
		g := got[i]
		switch {
		case g.UserID == 0:
			return fmt.Errorf("contact %s (%s): no WordPress user", c.ContactID, c.Action)
		case g.ContactID != c.ContactID:
			return fmt.Errorf("contact %s (%s): user %d linked to %q", c.ContactID, c.Action, g.UserID, g.ContactID)
		case !sameSet(g.Tags, c.wantTags):
			return fmt.Errorf("contact %s (%s): tags meta %v, want %v", c.ContactID, c.Action, g.Tags, c.wantTags)
		case !c.linked && !b.passwordReturned(ac, c.ContactID):
			return fmt.Errorf("contact %s (add): no password reached AC", c.ContactID)
		}
	}
	return nil
}

func (b *bench) passwordReturned(ac *acfake.Server, contactID string) bool {
	for _, w := range ac.FieldWrites(contactID) {
		if w.Field == b.pwField && w.Value != "" {
			return true
		}
	}
	return false
}

// wpfPhase measures WP Fusion on the lone scenarios of o (those wpbridge ran
// for delay, in res) and attaches the results to res. wpbridge must be
// stopped. Errors that leave the site uncertain are returned; a scenario
// whose checks fail is recorded as no measurement.
func (b *bench) wpfPhase(ctx context.Context, o *options, delay time.Duration, rng *rand.Rand, res []*scenResult) (note string, err error) {
	var skipped []string
	for _, r := range res {
		if !wpfScenario(r.scenario) {
			skipped = append(skipped, r.Key)
		}
	}
	if len(skipped) > 0 {
		note = fmt.Sprintf("WP Fusion is measured on the lone scenarios only; not on %s (AC +%s)", strings.Join(skipped, ", "), delay)
	}
	return note, b.wpfMeasure(ctx, o, delay, rng, res)
}

// wpfMeasure is wpfPhase's measurement.
func (b *bench) wpfMeasure(ctx context.Context, o *options, delay time.Duration, rng *rand.Rand, res []*scenResult) (err error) {
	s, err := newWPFSite(o.wpEnv, o.wpfusion, b.site.URL, b.dir)
	if err != nil {
		return err
	}
	ac := b.newFake(o.acRate)
	defer ac.Close()
	ac.SetDelay(delay)

	// Contacts and linked users first, while WP Fusion is not active (its
	// own user hooks would push them to AC).
	type run struct {
		r     *scenResult
		cases []wpfCase
	}
	var runs []run
	var links []map[string]any
	warm, warmLinks := b.wpfPrepare(ac, rng, scenario{Action: "add"}, "fw", 1)
	warmUpd, wl := b.wpfPrepare(ac, rng, scenario{Action: "update", Linked: true, HasTags: true}, "fu", 1)
	warm, links = append(warm, warmUpd...), append(warmLinks, wl...)
	for i, r := range res {
		if !wpfScenario(r.scenario) {
			continue
		}
		cases, l := b.wpfPrepare(ac, rng, r.scenario, fmt.Sprintf("f%d-%d", i, delay.Milliseconds()), r.N)
		runs = append(runs, run{r, cases})
		links = append(links, l...)
	}
	if len(runs) == 0 {
		return nil
	}
	if err := s.uninstall(ctx); err != nil { // a previous run's leftovers
		return fmt.Errorf("remove an earlier WP Fusion: %w", err)
	}
	var linked []map[string]any
	if err := s.php(ctx, "link", links, &linked); err != nil {
		return err
	}
	b.logf("WP Fusion %s: installing into %s (AC +%s)", s.version, s.wpDir, delay)
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if uerr := s.uninstall(cctx); uerr != nil {
			err = errors.Join(err, fmt.Errorf("remove WP Fusion: %w", uerr))
		}
	}()
	if err := s.install(ctx, b, ac); err != nil {
		return err
	}
	for _, c := range warm {
		if _, ok := b.sendWPF(ctx, c.hook); !ok {
			return fmt.Errorf("WP Fusion warm-up %s: no success answer (see %s/wp-content/debug.log or the site's log)", c.Action, s.wpDir)
		}
		time.Sleep(1100 * time.Millisecond)
	}
	if err := b.wpfCheck(ctx, s, ac, warm); err != nil {
		return fmt.Errorf("WP Fusion warm-up: %w", err)
	}
	for _, rn := range runs {
		b.logf("WP Fusion: scenario %s, AC +%s", rn.r.Key, delay)
		w := &wpfResult{Version: s.version}
		rn.r.WPF = w
		time.Sleep(1100 * time.Millisecond) // AC's window empties
		ac.ResetRequests()
		failed := 0
		for _, c := range rn.cases {
			a, ok := b.sendWPF(ctx, c.hook)
			w.Answers = append(w.Answers, a)
			if !ok {
				failed++
			}
			time.Sleep(1100 * time.Millisecond)
		}
		var labels []string
		for _, r := range ac.Requests() {
			if r.Status != http.StatusTooManyRequests {
				labels = append(labels, acLabel(r))
			}
		}
		w.AC, w.AC429, w.ACCalls = len(labels), ac.Throttled(), countLabels(labels)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case failed > 0:
			w.Err = fmt.Sprintf("%d of %d answers were not WP Fusion's success page (%s)", failed, len(rn.cases), answerCodes(w.Answers))
		default:
			if err := b.wpfCheck(ctx, s, ac, rn.cases); err != nil {
				w.Err = "check failed: " + err.Error()
			}
		}
	}
	return nil
}
