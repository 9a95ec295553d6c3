package check

import (
	"context"
	"strings"
	"testing"

	"github.com/wpbridge/wpbridge/internal/testing/wptest"
)

const indexSQL = "ALTER TABLE `wp_usermeta` ADD INDEX wpbridge_meta_value (meta_key(191), meta_value(32)), ALGORITHM=INPLACE, LOCK=NONE;"

// line returns the output line about what, or "".
func line(out, what string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "  "+what+": ") {
			return l
		}
	}
	return ""
}

// TestCheckMetaIndex: the usermeta index is reported ok when present (the
// plugin's or another's), and its absence is a warning naming why and the
// exact SQL, which never fails the check.
func TestCheckMetaIndex(t *testing.T) {
	missing := func(state, errText string) map[string]any {
		return map[string]any{"table": "wp_usermeta", "present": false, "name": "", "own": false, "state": state, "error": errText, "sql": indexSQL}
	}
	tests := []struct {
		name    string
		answer  map[string]any
		noRoute bool
		want    []string // the line starts with want[0] and contains the rest
	}{
		{"own", nil, false, []string{"ok    usermeta index: wp_usermeta has wpbridge_meta_value (meta_key, meta_value)"}},
		{"another plugin's", map[string]any{"table": "wp_usermeta", "present": true, "name": "meta_value_idx", "own": false, "state": "present", "sql": indexSQL},
			false, []string{"ok    usermeta index: wp_usermeta has meta_value_idx (another plugin's)"}},
		{"failed", missing("failed", "ALTER command denied to user 'wp'@'localhost' for table `wp_usermeta`"), false,
			[]string{"warn  usermeta index: wp_usermeta has no index on the meta value", "could not create it (ALTER command denied", "about 400 ms at 100,000", indexSQL, "POST /wpbridge/v1/meta-index"}},
		{"disabled", missing("disabled", ""), false, []string{"warn  usermeta index:", "WPBRIDGE_META_INDEX is false", indexSQL}},
		{"not yet", missing("", ""), false, []string{"warn  usermeta index:", "has not yet", indexSQL}},
		{"dropped", missing("created", ""), false, []string{"warn  usermeta index:", "it was dropped", indexSQL}},
		{"old plugin", nil, true, []string{"warn  usermeta index: the companion plugin on", "too old to report it"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.wp.metaIndex, f.wp.noIndexRoute = tc.answer, tc.noRoute
			ok, out, _ := run(t, f.env)
			if !ok {
				t.Fatalf("Run = false:\n%s", out)
			}
			l := line(out, "usermeta index")
			if !strings.HasPrefix(l, tc.want[0]) {
				t.Fatalf("line %q, want it to start with %q:\n%s", l, tc.want[0], out)
			}
			for _, w := range tc.want[1:] {
				if !strings.Contains(l, w) {
					t.Errorf("line %q lacks %q", l, w)
				}
			}
			if strings.HasPrefix(l, "warn") && !strings.Contains(out, "consider the lines marked warn") {
				t.Errorf("summary does not mention the warning:\n%s", out)
			}
		})
	}
}

// TestCheckMetaIndexRealWordPress: against the test WordPress, the check
// warns with the exact SQL while the index is missing and reports it ok once
// the plugin created it (on request).
func TestCheckMetaIndexRealWordPress(t *testing.T) {
	site := wptest.Env(t)
	site.LockMetaIndex(t)
	f := newFixture(t)
	env := f.env
	env["WP_URL"], env["WP_USERNAME"], env["WP_APP_PASSWORD"] = site.URL, site.Username, site.AppPassword
	wp := site.Client(t)
	if mi, err := wp.Site.MetaIndex(t.Context()); err != nil {
		t.Fatal(err)
	} else if mi.Own {
		site.SQL(t, "ALTER TABLE wp_usermeta DROP INDEX "+mi.Name)
	} else if mi.Present {
		t.Skipf("the site has another index on the meta value (%s)", mi.Name)
	}
	t.Cleanup(func() {
		if mi, err := wp.Site.CreateMetaIndex(context.Background()); err != nil || !mi.Present {
			t.Errorf("restore the index: %+v, %v", mi, err)
		}
	})
	ok, out, _ := run(t, env)
	if l := line(out, "usermeta index"); !ok || !strings.HasPrefix(l, "warn  usermeta index: wp_usermeta has no index on the meta value") ||
		!strings.Contains(l, indexSQL) {
		t.Fatalf("without the index: ok=%v, line %q:\n%s", ok, l, out)
	}
	if mi, err := wp.Site.CreateMetaIndex(t.Context()); err != nil || !mi.Own {
		t.Fatalf("create: %+v, %v", mi, err)
	}
	ok, out, _ = run(t, env)
	if l := line(out, "usermeta index"); !ok || !strings.HasPrefix(l, "ok    usermeta index: wp_usermeta has wpbridge_meta_value (meta_key, meta_value)") {
		t.Fatalf("with the index: ok=%v, line %q:\n%s", ok, l, out)
	}
}
