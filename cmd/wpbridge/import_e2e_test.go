package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/childproc"
	"github.com/wpbridge/wpbridge/internal/testing/syncbuf"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/internal/webhook"
	"github.com/wpbridge/wpbridge/wordpress"
)

const contactIDMeta = "activecampaign_contact_id"

// importSet is the contacts of one import test and what each should become.
type importSet struct {
	tag     string
	ids     []string // contact ids, in order
	emails  []string
	linked  map[string]int64 // contact -> user created before, linked by meta
	taken   map[string]int64 // contact -> user created before with its email, unlinked
	invalid string           // contact with an invalid email
}

// newImportSet fills the fake AC with n contacts holding a new tag: the
// first n/12 already linked to users, the next n/12 with the emails of
// existing unlinked users, one with an invalid email, the rest new. One
// contact without the tag is there too (never imported).
func newImportSet(t *testing.T, ac *acfake.Server, wp *wordpress.Client, n int) *importSet {
	t.Helper()
	base := time.Now().UnixMilli() % 100_000_000 * 1000
	s := &importSet{tag: fmt.Sprintf("Import Test %d", base), linked: map[string]int64{}, taken: map[string]int64{}}
	k := max(n/12, 1)
	for i := range n {
		id, email := fmt.Sprint(base+int64(i)), wptest.UniqueEmail(t, fmt.Sprintf("import%d", i))
		if i == 2*k {
			s.invalid, email = id, fmt.Sprintf("not-an-email-%d", base)
		}
		s.ids, s.emails = append(s.ids, id), append(s.emails, email)
		ac.AddContact(acfake.Contact{ID: id, Email: email, FirstName: "Imp", LastName: fmt.Sprint(i), Tags: []string{s.tag, "Other"}})
	}
	ac.AddContact(acfake.Contact{ID: fmt.Sprint(base + 999), Email: wptest.UniqueEmail(t, "untagged"), Tags: []string{"Other"}})
	t.Cleanup(func() { s.deleteUsers(t, wp) })
	parallel(k*2, func(i int) {
		meta := map[string]any{}
		if i < k {
			meta[contactIDMeta] = s.ids[i]
		}
		u, err := wp.Users.Create(context.Background(), wordpress.UserRequest{
			Fields: map[string]string{"username": s.emails[i], "email": s.emails[i], "password": "Pre-existing-9x"},
			Roles:  []string{"subscriber"}, Meta: meta,
		})
		if err != nil {
			t.Errorf("create user %d: %v", i, err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if i < k {
			s.linked[s.ids[i]] = u.ID
		} else {
			s.taken[s.ids[i]] = u.ID
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	return s
}

var mu sync.Mutex

// parallel runs f(0..n-1) on 8 goroutines.
func parallel(n int, f func(i int)) {
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}

func (s *importSet) deleteUsers(t *testing.T, wp *wordpress.Client) {
	parallel(len(s.emails), func(i int) {
		if s.ids[i] != s.invalid {
			deleteUser(t, wp, s.emails[i])
		}
	})
}

// check asserts the users in WordPress: every valid contact has exactly one
// user with its email, linked by the contact-id meta; users that existed
// are the same users; new ones have the role asked for; the invalid
// contact has none.
func (s *importSet) check(t *testing.T, site wptest.Site, wp *wordpress.Client, role string) {
	t.Helper()
	parallel(len(s.ids), func(i int) {
		id, email := s.ids[i], s.emails[i]
		u, err := wp.Users.FindByMeta(context.Background(), contactIDMeta, id)
		if id == s.invalid {
			if !errors.Is(err, wordpress.ErrNotFound) {
				t.Errorf("contact %s with an invalid email: user %v, %v; want none", id, u, err)
			}
			return
		}
		if err != nil {
			t.Errorf("contact %s: no linked user: %v", id, err)
			return
		}
		ids, err := site.UserIDsWithEmail(context.Background(), email)
		if err != nil || len(ids) != 1 || ids[0] != u.ID {
			t.Errorf("contact %s: linked user %d, users with its email %v (%v); want exactly that one", id, u.ID, ids, err)
		}
		before, existed := s.linked[id]
		if b, ok := s.taken[id]; ok {
			before, existed = b, true
		}
		switch {
		case existed && u.ID != before:
			t.Errorf("contact %s: linked to user %d, want the existing user %d", id, u.ID, before)
		case !existed && !slices.Contains(u.Roles, role):
			t.Errorf("contact %s: new user %d has roles %v, want %s", id, u.ID, u.Roles, role)
		}
	})
}

// runImportBin runs wpbridge import with env and returns its exit status and output.
func runImportBin(t *testing.T, bin string, env []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"import"}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	var stdout, stderr syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	code := 0
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("run import: %v", err)
	}
	for _, out := range []string{stdout.String(), stderr.String()} {
		if strings.Contains(out, acKey) || strings.Contains(out, accessKey) {
			t.Fatal("import output contains a secret")
		}
	}
	return code, stdout.String(), stderr.String()
}

// TestImportThroughTheBinary imports tagged contacts from the fake AC into
// the real WordPress: without a server (the command takes the work lock and
// works the queue) and while wpbridge serve runs (the command enqueues and
// follows). The big runs check the users, a small run at AC's real limit
// checks the rate limit across both processes.
func TestImportThroughTheBinary(t *testing.T) {
	site := wptest.Env(t)
	bin := binary(t)
	tests := []struct {
		name      string
		serve     bool
		n, rate   int
		interrupt bool // a first run is stopped with Ctrl-C while it works
	}{
		{name: "alone 250 at 50/s", n: 250, rate: 50},
		{name: "beside serve 24 at 5/s", serve: true, n: 24, rate: 5},
		{name: "alone 24 at 5/s interrupted", n: 24, rate: 5, interrupt: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && tc.n > 50 {
				t.Skip("-short: the small runs only")
			}
			testImport(t, site, bin, tc.serve, tc.n, tc.rate, tc.interrupt)
		})
	}
}

func testImport(t *testing.T, site wptest.Site, bin string, serve bool, n, rate int, interrupt bool) {
	ac := acfake.NewServer(acfake.Config{APIKey: acKey, RateLimit: rate})
	defer ac.Close()
	wp := site.Client(t)
	set := newImportSet(t, ac, wp, n)
	dbPath := filepath.Join(t.TempDir(), "wpbridge.db")
	addr, err := childproc.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	env := []string{
		"ACCESS_KEY=" + accessKey, "AC_API_URL=" + ac.URL(), "AC_API_KEY=" + acKey, "AC_RATE_LIMIT=" + fmt.Sprint(rate),
		"WP_URL=" + site.URL, "WP_USERNAME=" + site.Username, "WP_APP_PASSWORD=" + site.AppPassword,
		"DATABASE_URL=sqlite:" + dbPath, "LISTEN_ADDR=" + addr, "LOG_FORMAT=json", "WPBRIDGE_TEST_LEAVE_OUTBOX=1",
	}
	k := len(set.linked)
	// A dry run writes nothing: not even the database.
	code, stdout, stderr := runImportBin(t, bin, env, "--tag", strings.ToLower(set.tag), "--dry-run")
	want := fmt.Sprintf("%d contacts: would create %d, would link %d, already linked %d", n, n-2*k, k, k)
	if code != 0 || !strings.Contains(stdout, want) {
		t.Fatalf("dry run: exit %d, %q %q; want %q", code, stdout, stderr, want)
	}
	if _, err := os.Stat(dbPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the dry run created the database: %v", err)
	}
	if serve {
		logs := &syncbuf.Buffer{}
		p, err := childproc.Start(t.Context(), bin, env, logs)
		if err != nil {
			t.Fatalf("start serve: %v\n%s", err, logs.String())
		}
		defer func() {
			if err := p.Stop(30 * time.Second); err != nil {
				t.Errorf("stop serve: %v", err)
			}
		}()
	}
	if interrupt {
		interruptImport(t, ac, bin, env, set.tag)
	}
	start := time.Now()
	code, stdout, stderr = runImportBin(t, bin, env, "--tag", set.tag, "--role", "customer")
	t.Logf("import of %d contacts at %d/s: %s", n, rate, time.Since(start).Round(time.Millisecond))
	want = fmt.Sprintf("%d contacts, %d processed: created %d, linked %d, already linked %d, ignored 0, failed 1", n, n, n-2*k-1, k, k)
	if interrupt {
		// What the stopped run did counts as already linked now.
		want = fmt.Sprintf("%d contacts, %d processed: created ", n, n)
	}
	failed := regexp.MustCompile(`failed: contact ` + set.invalid + ` \(webhook \d+\): .*invalid email`)
	if code != 1 || !strings.Contains(stdout, want) || !strings.Contains(stdout, "ignored 0, failed 1") || !failed.MatchString(stdout) {
		t.Fatalf("import: exit %d, %q %q; want exit 1, %q and the invalid contact's failure", code, stdout, stderr, want)
	}
	set.checkEnqueuedOnce(t, dbPath)

	// A rerun finds every valid contact linked; the invalid one is tried
	// again (it may have been fixed in AC since) and fails again.
	code, stdout, stderr = runImportBin(t, bin, env, "--tag", set.tag, "--role", "customer")
	want = fmt.Sprintf("%d contacts, %d processed: created 0, linked 0, already linked %d, ignored 0, failed 1", n, n, n-1)
	if code != 1 || !strings.Contains(stdout, want) || !failed.MatchString(stdout) {
		t.Fatalf("rerun: exit %d, %q %q; want exit 1, %q", code, stdout, stderr, want)
	}
	set.check(t, site, wp, "customer")
	if got := ac.MaxInWindow(time.Second); got > rate {
		t.Errorf("the fake AC saw %d requests within one second, AC_RATE_LIMIT %d", got, rate)
	}
	if ac.Throttled() > 0 {
		t.Errorf("the fake AC answered 429 %d times", ac.Throttled())
	}
}

// interruptImport starts an import, sends it SIGINT (Ctrl-C) once the work
// has begun (AC saw a contact loaded) and checks that it stops cleanly,
// saying what stays queued.
func interruptImport(t *testing.T, ac *acfake.Server, bin string, env []string, tag string) {
	t.Helper()
	cmd := exec.Command(bin, "import", "--tag", tag, "--role", "customer")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	var stdout, stderr syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	contactLoad := regexp.MustCompile(`^/api/3/contacts/\d+$`)
	wait.For(t, 60*time.Second, "the import's first add at work", func() (bool, string) {
		for _, r := range ac.Requests() {
			if contactLoad.MatchString(r.Path) {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d AC requests, none loading a contact", len(ac.Requests()))
	})
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(stdout.String(), "interrupted: ") {
			t.Fatalf("interrupted import: %v, %q %q; want exit 1 saying it was interrupted", err, stdout.String(), stderr.String())
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("import still running 60s after SIGINT")
	}
}

// checkEnqueuedOnce asserts that each valid contact got one import webhook
// at most over all runs so far (none when it was linked before): an
// interrupted run's pending webhooks are followed, not enqueued again.
func (s *importSet) checkEnqueuedOnce(t *testing.T, dbPath string) {
	t.Helper()
	db, err := store.OpenSQLiteShared(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, id := range s.ids {
		recs, err := db.Webhooks.List(context.Background(), store.ListOptions{ContactID: id, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		want := 1
		if _, ok := s.linked[id]; ok {
			want = 0
		}
		if id == s.invalid {
			continue // tried again by each run
		}
		if len(recs) != want || (want == 1 && recs[0].Source != webhook.SourceImport) {
			t.Errorf("contact %s: %d webhooks stored, want %d import webhook(s)", id, len(recs), want)
		}
	}
}
