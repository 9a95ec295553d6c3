package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRatio(t *testing.T) {
	ms := time.Millisecond
	for _, tt := range []struct {
		a, b time.Duration
		want string
	}{
		{60 * ms, 50 * ms, "1.20×"},
		{27500 * time.Microsecond, 20900 * time.Microsecond, "1.32×"},
		{40 * ms, 80 * ms, "0.50×"},
		{40 * ms, 0, "-"},
		{-1, 10 * ms, "-"},
	} {
		if got := ratio(tt.a, tt.b); got != tt.want {
			t.Errorf("ratio(%v, %v) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}

// WP Fusion reads contact[id] and splits contact[tags] on ", " (its
// format_post_data); the body must give it back the contact and the tags.
func TestHookBodyAsWPFusionParsesIt(t *testing.T) {
	h := hook{Action: "update", ContactID: "42", Email: "a+b@example.com", Tags: []string{"Gold", "VIP"}, HasTags: true}
	v, err := url.ParseQuery(h.body())
	if err != nil {
		t.Fatal(err)
	}
	if v.Get("contact[id]") != "42" || v.Get("contact[email]") != "a+b@example.com" {
		t.Errorf("body %q: contact fields wrong", h.body())
	}
	if got := strings.Split(v.Get("contact[tags]"), ", "); !sameSet(got, []string{"VIP", "Gold"}) || len(got) != 2 {
		t.Errorf("explode(', ', contact[tags]) = %q", got)
	}
	h.HasTags = false
	if v, _ := url.ParseQuery(h.body()); v.Has("contact[tags]") {
		t.Error("contact[tags] sent without payload tags: WP Fusion would not load them from AC")
	}
}

func TestWPFSucceeded(t *testing.T) {
	ok := `<!DOCTYPE html><html><head><title>Success</title></head><body id="error-page"><div class="wp-die-message"><h3>Success</h3>Updated tags:<pre>Array</pre></div></body></html>`
	for body, want := range map[string]bool{
		ok: true,
		`<div class="wp-die-message">No matching user found</div>`:                                                                      false,
		`<div class="wp-die-message"><strong>Doing it wrong:</strong> An <strong>add</strong> webhook is already being processed</div>`: false,
		`<h3>Abort</h3>Contact data not found or contact not eligible for update.`:                                                      false,
		`<h3>Error</h3>Import user failed for contact ID <strong>7</strong>.`:                                                           false,
		``: false,
	} {
		if got := wpfSucceeded(body); got != want {
			t.Errorf("wpfSucceeded(%.40q) = %v, want %v", body, got, want)
		}
	}
}

func TestWPFOptions(t *testing.T) {
	o := wpfOptions("http://127.0.0.1:4321", "ac-key", "access", "3", "http://127.0.0.1:8101")
	for k, want := range map[string]any{
		"crm": "activecampaign", "ac_url": "http://127.0.0.1:4321/", "ac_key": "ac-key", "access_key": "access",
		"connection_configured": true, "return_password": 1, "return_password_field": "field[3,0]",
		"create_users": 1, "staging_mode": 0, "site_url": "http://127.0.0.1:8101",
	} {
		if o[k] != want {
			t.Errorf("%s = %v, want %v", k, o[k], want)
		}
	}
	email := o["contact_fields"].(map[string]any)["user_email"].(map[string]any)
	if email["crm_field"] != "email" || email["active"] != true {
		t.Errorf("user_email mapping %v: WP Fusion would import no email", email)
	}
	if tags := wpfAvailableTags([]string{"Gold"}); tags["Gold"] != "Gold" || len(tags) != 1 {
		t.Errorf("available tags %v", tags)
	}
}

func TestPluginVersionAndHelperJSON(t *testing.T) {
	head := "<?php\n/**\n * Plugin Name: WP Fusion\n * Description: x\n * Version: 3.42.11\n * Author: y\n */\n"
	if v := pluginVersion(head); v != "3.42.11" {
		t.Errorf("pluginVersion = %q", v)
	}
	if v := pluginVersion("<?php\n"); v != "" {
		t.Errorf("no header: %q", v)
	}
	raw, ok := helperJSON("PHP Notice: something\nWPBENCH-JSON {\"active\":true}\n")
	if !ok || raw != `{"active":true}` {
		t.Errorf("helperJSON = %q, %v", raw, ok)
	}
	if _, ok := helperJSON("Fatal error"); ok {
		t.Error("helperJSON found an answer in an error")
	}
}

func TestDifferentTags(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	old := []string{"Gold"}
	for range 50 {
		if got := differentTags(rng, old); sameSet(got, old) || len(got) == 0 {
			t.Fatalf("differentTags(%v) = %v", old, got)
		}
	}
}

// Without -wpfusion nothing is measured and the report says where the WP
// Fusion figures come from; with a failed check the row says "not measured".
func TestWPFusionReport(t *testing.T) {
	ms := time.Millisecond
	ans := func(ds ...time.Duration) []answer {
		var out []answer
		for _, d := range ds {
			out = append(out, answer{Status: "200", Latency: d})
		}
		return out
	}
	add := &scenResult{scenario: scenario{Key: "lone-add", Label: "lone add", Kind: kindLone}, Answers: ans(60*ms, 62*ms, 64*ms)}
	rep := &report{opts: &options{acRate: 5, loneN: 3, settle: true}, scen: []*scenResult{add}, wpVersion: "6.8.3"}
	var buf bytes.Buffer
	rep.printScenarios(&buf)
	rep.printScenarioMarkdown(&buf)
	out := buf.String()
	if !strings.Contains(out, "older machine, not this run") || !strings.Contains(out, "WordPress 6.8.3") || strings.Contains(out, "measured in this run)") {
		t.Errorf("fallback report:\n%s", out)
	}

	add.WPF = &wpfResult{Version: "3.42.11", Answers: ans(48*ms, 50*ms, 52*ms), AC: 9}
	upd := &scenResult{scenario: scenario{Key: "lone-update", Label: "lone update", Kind: kindLone}, Answers: ans(30 * ms),
		WPF: &wpfResult{Version: "3.42.11", Answers: ans(5 * ms), Err: "check failed: contact 7 (update): tags meta [], want [Gold]"}}
	rep.scen = append(rep.scen, upd)
	buf.Reset()
	rep.printScenarios(&buf)
	rep.printScenarioMarkdown(&buf)
	out = buf.String()
	for _, want := range []string{
		"WP Fusion 3.42.11 measured in this run",
		"p50 50 ms, p99 52 ms, max 52 ms; 200×3; AC 9 req (measured in this run)",
		"| 1.24× |",
		"not measured in this run: check failed",
		"p50 against WP Fusion's in this run (issue 21) | ~1 ms | 1.24× (62 ms / 50 ms) | ≤ 1.20× | MISSED",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "5 ms") {
		t.Errorf("a failed WP Fusion run printed its latency:\n%s", out)
	}
}

// A WP Fusion left in the site stops a run that would measure wpbridge
// beside it.
func TestWPFLeftover(t *testing.T) {
	dir := t.TempDir()
	o := &options{wpEnv: filepath.Join(dir, "env")}
	b := &bench{}
	if err := b.wpfLeftover(context.Background(), o); err != nil {
		t.Fatalf("no WP Fusion: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "wp", "wp-content", "plugins", "wp-fusion"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := b.wpfLeftover(context.Background(), o); err == nil || !strings.Contains(err.Error(), "left by a killed run") {
		t.Errorf("WP Fusion left in the site: %v", err)
	}
}
