package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

// wpbridge import --from-wordpress --role contributor (a role no other test
// gives) sends each such user to AC once and stores the contact id; users
// that carry one already are skipped, and a rerun has nothing left to do.
func TestImportFromWordPress(t *testing.T) {
	site := wptest.Env(t)
	wp := site.Client(t)
	// The contacts the fake AC creates get ids of this test's own (its
	// sequence would start at 1, an id other tests may link users to).
	var next atomic.Int64
	next.Store(time.Now().UnixMilli() % 100_000_000 * 1000)
	ac := acfake.NewServer(acfake.Config{APIKey: acKey, RateLimit: 5,
		NewContactID: func() string { return strconv.FormatInt(next.Add(1), 10) }})
	defer ac.Close()
	const role = "contributor"
	var ids []int64
	var emails []string
	for i := range 3 {
		email := wptest.UniqueEmail(t, fmt.Sprintf("fromwp%d", i))
		meta := map[string]any{}
		if i == 0 {
			meta["activecampaign_contact_id"] = "987654321" // linked already
		}
		u, err := wp.Users.Create(t.Context(), wordpress.UserRequest{
			Fields: map[string]string{"username": email, "email": email, "password": "Pre-existing-9x", "first_name": fmt.Sprintf("Writer%d", i)},
			Roles:  []string{role}, Meta: meta,
		})
		if err != nil {
			t.Fatalf("create user: %v", err)
		}
		ids, emails = append(ids, u.ID), append(emails, email)
	}
	t.Cleanup(func() {
		for _, id := range ids {
			wp.Users.Delete(context.Background(), id, 0)
		}
	})
	env := baseEnv(t)
	env["AC_API_URL"], env["WP_URL"], env["WP_USERNAME"], env["WP_APP_PASSWORD"] = ac.URL(), site.URL, site.Username, site.AppPassword
	run := func(args ...string) (int, string, string) {
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
		defer cancel()
		return runCmd(t, ctx, append([]string{"import", "--from-wordpress", "--role", role}, args...), env)
	}

	code, stdout, stderr := run("--dry-run")
	m := regexp.MustCompile(`users with role "contributor", \d+ users: would sync (\d+), already linked (\d+)`).FindStringSubmatch(stdout)
	if code != 0 || m == nil || atoi(m[1]) < 2 || atoi(m[2]) < 1 {
		t.Fatalf("dry run: exit %d, %q %q", code, stdout, stderr)
	}
	if _, err := os.Stat(strings.TrimPrefix(env["DATABASE_URL"], "sqlite:")); err == nil {
		t.Error("the dry run created the database")
	}
	if len(ac.Requests()) > 0 {
		t.Errorf("the dry run asked AC %d times", len(ac.Requests()))
	}

	code, stdout, stderr = run()
	if code != 0 || !strings.Contains(stdout, "failed 0") {
		t.Fatalf("import: exit %d, %q %q", code, stdout, stderr)
	}
	for i, email := range emails[1:] {
		c, ok := ac.ContactByEmail(email)
		if !ok || c.FirstName != fmt.Sprintf("Writer%d", i+1) || slices.Contains(c.Tags, "WordPress member") {
			t.Errorf("AC contact of %s = %+v, %v", email, c, ok)
		}
		u, err := wp.Users.Get(t.Context(), ids[i+1])
		if err != nil || u.Meta["activecampaign_contact_id"] != c.ID {
			t.Errorf("user %d contact id meta = %v (%v), want %s", ids[i+1], u.Meta["activecampaign_contact_id"], err, c.ID)
		}
	}
	if _, ok := ac.ContactByEmail(emails[0]); ok {
		t.Errorf("the linked user was sent to AC")
	}

	// A rerun: nothing left to sync.
	code, stdout, stderr = run()
	if code != 0 || !strings.Contains(stdout, "processed: created 0, linked 0") {
		t.Fatalf("rerun: exit %d, %q %q", code, stdout, stderr)
	}
	if got := ac.MaxInWindow(time.Second); got > 5 {
		t.Errorf("the fake AC saw %d requests within one second", got)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
