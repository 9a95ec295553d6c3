package wordpress_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

// usermetaIndexes returns the usermeta table's indexes: name -> columns in order.
func usermetaIndexes(t *testing.T, env wptest.Site) map[string]string {
	t.Helper()
	out := env.SQL(t, `SELECT index_name, GROUP_CONCAT(column_name ORDER BY seq_in_index) FROM information_schema.statistics
		WHERE table_schema = DATABASE() AND table_name = 'wp_usermeta' GROUP BY index_name`)
	idx := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if name, cols, ok := strings.Cut(line, "\t"); ok {
			idx[name] = cols
		}
	}
	return idx
}

// resetMetaIndex drops every index WordPress does not make on usermeta, runs
// the statements of setup (if any), and then forgets the plugin's recorded
// attempt: a site as installed (plus setup). In that order, because the other
// tests' requests start the plugin's attempt as soon as none is recorded.
func resetMetaIndex(t *testing.T, env wptest.Site, setup ...string) {
	t.Helper()
	for name := range usermetaIndexes(t, env) {
		if name != "PRIMARY" && name != "user_id" && name != "meta_key" {
			env.SQL(t, "ALTER TABLE wp_usermeta DROP INDEX `"+name+"`")
		}
	}
	for _, s := range setup {
		env.SQL(t, s)
	}
	env.SQL(t, "DELETE FROM wp_options WHERE option_name = 'wpbridge_meta_index'")
}

// settled asks for the index's state (a request to a plugin route, which
// starts the plugin's once-only attempt when none is recorded) until the
// attempt is recorded.
func settled(t *testing.T, wp *wordpress.Client) *wordpress.MetaIndex {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		mi, err := wp.Site.MetaIndex(t.Context())
		if err != nil {
			t.Fatalf("meta index: %v", err)
		}
		if mi.State != "" {
			return mi
		}
		if time.Now().After(deadline) {
			t.Fatalf("no attempt recorded after 60 s: %+v", mi)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMetaIndexRealWordPress: the must-use plugin creates the usermeta index
// the find by contact id needs, once, on the first request to one of its
// routes; keeps another plugin's equivalent index instead of adding one;
// records a failure without breaking anything and never retries by itself;
// and creates it on request (POST). The find then uses it.
func TestMetaIndexRealWordPress(t *testing.T) {
	env := wptest.Env(t)
	env.LockMetaIndex(t)
	wp := env.Client(t)
	ctx := t.Context()
	// Leave the site as the plugin leaves it: with its index.
	t.Cleanup(func() {
		resetMetaIndex(t, env)
		if mi, err := wp.Site.CreateMetaIndex(context.Background()); err != nil || !mi.Own {
			t.Errorf("restore the index: %+v, %v", mi, err)
		}
	})

	t.Run("first use creates it", func(t *testing.T) {
		resetMetaIndex(t, env)
		mi := settled(t, wp)
		if mi.State != "created" || !mi.Present || !mi.Own || mi.Name != wordpress.MetaIndexName || mi.Table != "wp_usermeta" {
			t.Fatalf("after the first request: %+v", mi)
		}
		if cols := usermetaIndexes(t, env)[wordpress.MetaIndexName]; cols != "meta_key,meta_value" {
			t.Fatalf("index columns %q", cols)
		}
		plan := env.SQL(t, "EXPLAIN SELECT user_id FROM wp_usermeta WHERE meta_key = 'activecampaign_contact_id' AND meta_value = '42'")
		if !strings.Contains(plan, wordpress.MetaIndexName) {
			t.Errorf("the find's plan does not use the index:\n%s", plan)
		}
		if !strings.HasPrefix(mi.SQL, "ALTER TABLE `wp_usermeta` ADD INDEX wpbridge_meta_value (meta_key(191), meta_value(32))") ||
			!strings.Contains(mi.SQL, "ALGORITHM=INPLACE, LOCK=NONE") {
			t.Errorf("sql %q", mi.SQL)
		}
	})

	t.Run("never again by itself", func(t *testing.T) {
		env.SQL(t, "ALTER TABLE wp_usermeta DROP INDEX "+wordpress.MetaIndexName)
		for range 3 {
			if _, err := wp.Site.Status(ctx); err != nil {
				t.Fatal(err)
			}
		}
		mi, err := wp.Site.MetaIndex(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := usermetaIndexes(t, env)[wordpress.MetaIndexName]; ok || mi.Present || mi.State != "created" {
			t.Fatalf("the index came back without being asked: %+v", mi)
		}
		mi, err = wp.Site.CreateMetaIndex(ctx)
		if err != nil || !mi.Present || !mi.Own || mi.State != "created" {
			t.Fatalf("create on request: %+v, %v", mi, err)
		}
	})

	t.Run("another plugin's index", func(t *testing.T) {
		resetMetaIndex(t, env, "ALTER TABLE wp_usermeta ADD INDEX wptest_other (meta_key(100), meta_value(20))")
		mi := settled(t, wp)
		if mi.State != "present" || !mi.Present || mi.Own || mi.Name != "wptest_other" {
			t.Fatalf("with another plugin's index: %+v", mi)
		}
		if _, ok := usermetaIndexes(t, env)[wordpress.MetaIndexName]; ok {
			t.Fatal("a second index was added")
		}
	})

	t.Run("a failure breaks nothing", func(t *testing.T) {
		// The name taken by an index of other columns: the ALTER fails.
		resetMetaIndex(t, env, "ALTER TABLE wp_usermeta ADD INDEX "+wordpress.MetaIndexName+" (user_id)")
		mi := settled(t, wp)
		if mi.State != "failed" || mi.Present || !strings.Contains(mi.Error, "Duplicate key name") {
			t.Fatalf("failed attempt: %+v", mi)
		}
		// The plugin works on: a find answers (404: nobody has that contact id).
		if _, err := wp.Users.FindByMeta(ctx, "activecampaign_contact_id", "wptest-no-such-contact"); !errors.Is(err, wordpress.ErrNotFound) {
			t.Fatalf("find after a failed attempt: %v", err)
		}
		env.SQL(t, "ALTER TABLE wp_usermeta DROP INDEX "+wordpress.MetaIndexName)
		if mi, err := wp.Site.CreateMetaIndex(ctx); err != nil || mi.State != "created" || !mi.Own {
			t.Fatalf("retry on request: %+v, %v", mi, err)
		}
	})
}
