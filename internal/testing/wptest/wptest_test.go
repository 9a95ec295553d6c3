package wptest

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wpbridge/wpbridge/wordpress"
)

// recordingTB captures Skip/Fatal instead of stopping the test.
type recordingTB struct {
	testing.TB
	skipped, failed bool
}

func (r *recordingTB) Helper()               {}
func (r *recordingTB) Skipf(string, ...any)  { r.skipped = true }
func (r *recordingTB) Fatalf(string, ...any) { r.failed = true }

func TestEnv(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "env")
	content := "WP_URL=http://127.0.0.1:1\nWP_USERNAME=admin\nWP_APP_PASSWORD=aaaa bbbb\n# comment\n" +
		"WPTEST_AUTHOR_USERNAME=author1\nWPTEST_AUTHOR_APP_PASSWORD=cccc\nWPTEST_MAIL_LOG=/x/mail.jsonl\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("File", func(t *testing.T) {
		t.Setenv("WPBRIDGE_WP_ENV", file)
		got := Env(t)
		want := Site{URL: "http://127.0.0.1:1", Username: "admin", AppPassword: "aaaa bbbb",
			AuthorUsername: "author1", AuthorAppPassword: "cccc", MailLog: "/x/mail.jsonl"}
		if got != want {
			t.Errorf("Env = %+v, want %+v", got, want)
		}
	})
	for _, tt := range []struct {
		name, require string
		skip, fail    bool
		notices       int // lines printed after two calls
	}{{"MissingSkips", "", true, false, 1}, {"MissingRequired", "1", false, true, 0}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("WPBRIDGE_WP_ENV", filepath.Join(dir, "missing"))
			t.Setenv("WPBRIDGE_REQUIRE_WP", tt.require)
			out := captureNotice(t)
			for range 2 {
				r := &recordingTB{TB: t}
				Env(r)
				if r.skipped != tt.skip || r.failed != tt.fail {
					t.Errorf("skipped=%v failed=%v, want %v %v", r.skipped, r.failed, tt.skip, tt.fail)
				}
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if out.Len() == 0 {
				lines = nil
			}
			if len(lines) != tt.notices {
				t.Fatalf("notice lines = %q, want %d", lines, tt.notices)
			}
			for _, want := range []string{"internal/testing/wptest: skipped its real-WordPress tests", "no such file",
				"bash scripts/wordpress.sh start", "./scripts/test.sh"} {
				if tt.notices > 0 && !strings.Contains(lines[0], want) {
					t.Errorf("notice %q lacks %q", lines[0], want)
				}
			}
		})
	}
}

// captureNotice sends the skip notice to a buffer, with its once reset, until t ends.
func captureNotice(t *testing.T) *bytes.Buffer {
	var buf bytes.Buffer
	saved := notice
	notice = &skipNotice{open: func() (io.Writer, func()) { return &buf, func() {} }}
	t.Cleanup(func() { notice = saved })
	return &buf
}

func TestSite_Mails(t *testing.T) {
	t.Parallel()
	log := filepath.Join(t.TempDir(), "mail.jsonl")
	lines := `{"to":["a@example.com"],"subject":"Hi","message":"one"}` + "\n" +
		`{"to":["B@Example.com","c@example.com"],"subject":"Login Details","message":"two"}` + "\n"
	if err := os.WriteFile(log, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	s := Site{MailLog: log}
	if got := s.Mails(t); len(got) != 2 || got[1].Subject != "Login Details" || got[1].To[1] != "c@example.com" {
		t.Errorf("Mails = %+v", got)
	}
	if got := s.MailsTo(t, "b@example.com"); len(got) != 1 || got[0].Message != "two" {
		t.Errorf("MailsTo = %+v", got)
	}
}

func TestUniqueEmail(t *testing.T) {
	t.Parallel()
	a, b := UniqueEmail(t, "Alice Smith"), UniqueEmail(t, "Alice Smith")
	if a == b || !strings.HasPrefix(a, "alice-smith-") || !strings.HasSuffix(a, "@example.com") || strings.Count(a, "@") != 1 {
		t.Errorf("UniqueEmail = %q, %q", a, b)
	}
}

func TestSite_CheckPassword(t *testing.T) {
	t.Parallel()
	s := Env(t)
	// author1's login password is random and unknown; only the negative case is checkable here
	// (the positive case is in wordpress's integration tests, with a user created there).
	if s.CheckPassword(t, s.AuthorUsername, "definitely-not-the-password") {
		t.Error("a wrong password logs in")
	}
	if s.CheckPassword(t, s.Username, s.AppPassword) {
		t.Error("an application password logs in through wp-login.php")
	}
}

func TestSite_UserIDsWithEmail(t *testing.T) {
	t.Parallel()
	s := Env(t)
	wp := s.Client(t)
	ctx := t.Context()
	email := UniqueEmail(t, "count")
	if ids, err := s.UserIDsWithEmail(ctx, email); err != nil || len(ids) != 0 {
		t.Fatalf("before any user: %v, %v; want none", ids, err)
	}
	var made []int64
	// A near match (the address inside a longer one) is not counted.
	for _, addr := range []string{email, "x" + email} {
		u, err := wp.Users.Create(ctx, wordpress.UserRequest{Fields: map[string]string{"username": strings.Split(addr, "@")[0], "email": addr, "password": "Pw-count-12345"}})
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, u.ID)
		t.Cleanup(func() {
			if err := wp.Users.Delete(context.Background(), u.ID, 1); err != nil {
				t.Errorf("delete user %d: %v", u.ID, err)
			}
		})
	}
	ids, err := s.UserIDsWithEmail(ctx, strings.ToUpper(email))
	if err != nil || len(ids) != 1 || ids[0] != made[0] {
		t.Errorf("UserIDsWithEmail = %v, %v; want [%d]", ids, err, made[0])
	}
}
