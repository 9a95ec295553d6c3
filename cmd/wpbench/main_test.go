package main

import (
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPct(t *testing.T) {
	d := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0, 1}, {0.5, 6}, {0.99, 10}, {1, 10}} {
		if got := pct(d, tc.p); got != tc.want {
			t.Errorf("pct(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := pct(nil, 0.5); got != 0 {
		t.Errorf("pct(nil) = %v", got)
	}
}

func TestLocalOnly(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8093", true},
		{"http://localhost:8093", true},
		{"https://127.0.0.1", false},
		{"http://example.com", false},
		{"http://10.0.0.1:80", false},
	} {
		t.Run(tc.url, func(t *testing.T) {
			if err := localOnly(tc.url); (err == nil) != tc.ok {
				t.Errorf("localOnly = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestReadSite(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content string
		want          site
		err           string // substring of the error; "" = no error
	}{
		{name: "ok", content: "# written by scripts/wordpress.sh\nWP_URL = http://127.0.0.1:8093\nWP_USERNAME=admin\nWP_APP_PASSWORD=abcd efgh\nOTHER=x\n",
			want: site{URL: "http://127.0.0.1:8093", Username: "admin", AppPassword: "abcd efgh"}},
		{name: "no password", content: "WP_URL=http://127.0.0.1:8093\nWP_USERNAME=admin\n", err: "lacks WP_URL, WP_USERNAME or WP_APP_PASSWORD"},
		{name: "not local", content: "WP_URL=http://example.com\nWP_USERNAME=admin\nWP_APP_PASSWORD=p\n", err: "only targets 127.0.0.1"},
		{name: "missing file", err: "start one: bash scripts/wordpress.sh start"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			if tc.content != "" {
				if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, err := readSite(path)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("readSite error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("readSite = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestWPLabel(t *testing.T) {
	for _, tc := range []struct{ method, target, want string }{
		{"GET", "/wp-json/wp/v2/users?search=a%40b.c&context=edit", "GET users?search"},
		{"POST", "/wp-json/wp/v2/users/42?context=edit", "POST users/{id}"},
		{"POST", "/wp-json/wp/v2/users?context=edit", "POST users"},
		{"GET", "/wp-json/wpbridge/v1/users/by-meta?key=k&value=1", "GET by-meta"},
		{"GET", "/?rest_route=/wp/v2/users/7", "GET users/{id}"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			if got := wpLabel(httptest.NewRequest(tc.method, tc.target, nil)); got != tc.want {
				t.Errorf("wpLabel = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCountLabels(t *testing.T) {
	if got := countLabels([]string{"b", "a", "b"}); got != "a, 2x b" {
		t.Errorf("countLabels = %q", got)
	}
	if got := countLabels(nil); got != "-" {
		t.Errorf("countLabels(nil) = %q", got)
	}
}

func TestIdealRequests(t *testing.T) {
	costs := map[string]costResult{}
	for i, c := range costCases {
		costs[costKey(c.Action, c.User, c.HasTags)] = costResult{costCase: c, AC: i + 100}
	}
	cost := func(action, user string, tags bool) int { return costs[costKey(action, user, tags)].AC }
	hooks := []hook{
		{Action: "update_tags", ContactID: "1", HasTags: true, Tags: []string{"A"}},
		{Action: "add", ContactID: "1"},                                             // contact 1: add wins, last has no tags
		{Action: "update", ContactID: "2", HasTags: true, Tags: []string{"B"}},      // linked
		{Action: "update_tags", ContactID: "3"},                                     // no user
		{Action: "update_tags", ContactID: "3", HasTags: true, Tags: []string{"C"}}, // last has tags
	}
	got, err := idealRequests(hooks, map[string]bool{"2": true}, costs)
	if err != nil {
		t.Fatal(err)
	}
	want := cost("add", userNew, false) + cost("update", userLinked, true) + cost("update_tags", userNone, true)
	if got != want {
		t.Errorf("idealRequests = %d, want %d", got, want)
	}
}

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		ok   bool
	}{
		{"defaults", nil, true},
		{"env override", []string{"-wpbridge-env", "WORKERS=2"}, true},
		{"bad env", []string{"-wpbridge-env", "nope"}, false},
		{"zero rate", []string{"-rate", "0"}, false},
		{"fewer webhooks than contacts", []string{"-storm-contacts", "10", "-storm-webhooks", "5"}, false},
		{"extra args", []string{"x"}, false},
		{"postgres replicas", []string{"-database", "sqlite,postgres", "-replicas", "1,2,3"}, true},
		{"unknown database", []string{"-database", "mysql"}, false},
		{"zero replicas", []string{"-replicas", "0"}, false},
		{"too many replicas", []string{"-replicas", "1,9"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args, io.Discard)
			if (err == nil) != tc.ok {
				t.Fatalf("parseFlags = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && o.rate != 200 {
				t.Errorf("rate = %d, want 200", o.rate)
			}
		})
	}
}

func TestScaleOut(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"-database", "postgres"}, true},
		{[]string{"-replicas", "1,2"}, true},
		{[]string{"-database", "sqlite", "-replicas", "1"}, false},
	} {
		o, err := parseFlags(tc.args, io.Discard)
		if err != nil {
			t.Fatalf("parseFlags(%q): %v", tc.args, err)
		}
		if got := o.scaleOut(); got != tc.want {
			t.Errorf("scaleOut(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}

func TestLocalPostgres(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"postgres://postgres@127.0.0.1:5499/wpbridge_test?sslmode=disable", true},
		{"postgresql://u@localhost/db", true},
		{"postgres://u@db.example.com/db", false},
		{"mysql://127.0.0.1/db", false},
	} {
		if err := localPostgres(tc.url); (err == nil) != tc.ok {
			t.Errorf("localPostgres(%q) = %v, want ok=%v", tc.url, err, tc.ok)
		}
	}
}
