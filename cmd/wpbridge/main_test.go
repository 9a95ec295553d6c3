package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sethvargo/go-envconfig"

	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/syncbuf"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// Secrets used by the tests; none may appear in the output.
const (
	acKey     = "ac-SECRET-key-0123456789"
	wpPass    = "abcd EFGH ijkl MNOP qrst UVWX"
	accessKey = "access-SECRET-key-42"
)

func runCmd(t *testing.T, ctx context.Context, args []string, env map[string]string) (int, string, string) {
	t.Helper()
	var stdout, stderr syncbuf.Buffer
	code := run(ctx, args, envconfig.MapLookuper(env), &stdout, &stderr)
	for _, s := range []string{stdout.String(), stderr.String()} {
		for _, secret := range []string{acKey, wpPass, accessKey} {
			if strings.Contains(s, secret) {
				t.Fatalf("output of %q contains a secret", args)
			}
		}
	}
	return code, stdout.String(), stderr.String()
}

// baseEnv is a complete configuration with unreachable APIs.
func baseEnv(t *testing.T) map[string]string {
	return map[string]string{
		"ACCESS_KEY": accessKey, "AC_API_URL": "http://127.0.0.1:9", "AC_API_KEY": acKey,
		"WP_URL": "http://127.0.0.1:9", "WP_USERNAME": "admin", "WP_APP_PASSWORD": wpPass,
		"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "x.db"),
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		code    int
		stdout  string
		stderr  []string
		noUsage bool
	}{
		{name: "help", args: []string{"help"}, code: 0, stdout: "usage: wpbridge"},
		{name: "-h", args: []string{"-h"}, code: 0, stdout: "usage: wpbridge"},
		{name: "--help", args: []string{"--help"}, code: 0, stdout: "usage: wpbridge"},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderr: []string{`unknown command "frobnicate"`, "usage: wpbridge", "serve", "check"}},
		{name: "too many arguments", args: []string{"check", "now"}, code: 2, stderr: []string{"too many arguments", "usage: wpbridge"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// No configuration at all: usage errors come before it.
			code, stdout, stderr := runCmd(t, context.Background(), tc.args, map[string]string{})
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.code, stderr)
			}
			if tc.stdout != "" && !strings.Contains(stdout, tc.stdout) {
				t.Errorf("stdout %q lacks %q", stdout, tc.stdout)
			}
			for _, w := range tc.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
		})
	}
}

func TestMissingConfiguration(t *testing.T) {
	required := []string{"ACCESS_KEY", "AC_API_URL", "AC_API_KEY", "WP_URL", "WP_USERNAME", "WP_APP_PASSWORD"}
	for _, args := range [][]string{nil, {"serve"}, {"check"}} {
		code, stdout, stderr := runCmd(t, context.Background(), args, map[string]string{})
		if code != 2 {
			t.Fatalf("%q: exit %d, want 2", args, code)
		}
		for _, v := range required {
			if !strings.Contains(stderr, v) {
				t.Errorf("%q: stderr does not name %s:\n%s", args, v, stderr)
			}
		}
		if stdout != "" {
			t.Errorf("%q: stdout %q", args, stdout)
		}
	}

	// Some set, some invalid: each problem is named, no secret is shown.
	env := map[string]string{"AC_API_KEY": acKey, "WP_APP_PASSWORD": wpPass, "ACCESS_KEY": accessKey, "PASSWORD_LENGTH": "lots"}
	code, _, stderr := runCmd(t, context.Background(), []string{"check"}, env)
	if code != 2 {
		t.Fatalf("exit %d", code)
	}
	for _, v := range []string{"AC_API_URL", "WP_URL", "WP_USERNAME", "PASSWORD_LENGTH"} {
		if !strings.Contains(stderr, v) {
			t.Errorf("stderr does not name %s:\n%s", v, stderr)
		}
	}
	for _, v := range []string{"AC_API_KEY:", "WP_APP_PASSWORD:", "ACCESS_KEY:"} {
		if strings.Contains(stderr, v) {
			t.Errorf("stderr reports %s although it is set:\n%s", v, stderr)
		}
	}
}

// statusWP answers the companion plugin's status route.
func statusWP(t *testing.T, caps map[string]bool) string {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("rest_route") != "/wpbridge/v1/status" {
			w.WriteHeader(404)
			_, _ = w.Write([]byte(`{"code":"rest_no_route","message":"No route"}`))
			return
		}
		if u, p, ok := r.BasicAuth(); !ok || u != "admin" || p != wpPass {
			w.WriteHeader(401)
			_, _ = w.Write([]byte(`{"code":"rest_forbidden","message":"Sorry"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"version": "1.3.0", "wordpress": "6.1.9", "capabilities": caps,
			"roles":                   map[string]string{"administrator": "Administrator", "subscriber": "Subscriber", "customer": "Customer"},
			"role_admin_capabilities": map[string][]string{"administrator": {"manage_options"}, "subscriber": {}, "customer": {}},
		})
	}))
	t.Cleanup(ts.Close)
	return ts.URL
}

func TestCheckCommand(t *testing.T) {
	ac := acfake.NewServer(acfake.Config{APIKey: acKey})
	defer ac.Close()
	all := map[string]bool{"create_users": true, "edit_users": true, "list_users": true, "promote_users": true}
	some := map[string]bool{"create_users": true, "edit_users": true, "list_users": true}
	tests := []struct {
		name string
		caps map[string]bool
		env  map[string]string
		code int
		want []string
	}{
		{name: "all pass", caps: all, code: 0, want: []string{"ok    ActiveCampaign API", "checks passed"}},
		{name: "capability missing", caps: some, code: 1, want: []string{"FAIL  capability promote_users", "checks failed"}},
		{name: "AC key rejected", caps: all, env: map[string]string{"AC_API_KEY": "wrong-key-5555"}, code: 1, want: []string{"FAIL  ActiveCampaign API", "AC_API_KEY was rejected"}},
		{name: "WP password rejected", caps: all, env: map[string]string{"WP_APP_PASSWORD": "nope nope nope nope"}, code: 1, want: []string{"FAIL  WordPress credentials"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := baseEnv(t)
			env["AC_API_URL"], env["WP_URL"] = ac.URL(), statusWP(t, tc.caps)
			for k, v := range tc.env {
				env[k] = v
			}
			code, stdout, stderr := runCmd(t, context.Background(), []string{"check"}, env)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			if strings.Contains(stdout, env["WP_APP_PASSWORD"]) || strings.Contains(stdout, env["AC_API_KEY"]) {
				t.Error("stdout contains a credential")
			}
		})
	}
	t.Run("check creates no database", func(t *testing.T) {
		env := baseEnv(t)
		env["AC_API_URL"], env["WP_URL"] = ac.URL(), statusWP(t, all)
		runCmd(t, context.Background(), []string{"check"}, env)
		if _, err := os.Stat(strings.TrimPrefix(env["DATABASE_URL"], "sqlite:")); err == nil {
			t.Error("check created the database file")
		}
	})
}

// listenAddr waits for the "wpbridge listening" log line and returns its addr.
func listenAddr(t *testing.T, stderr *syncbuf.Buffer, done <-chan int) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(stderr.String()))
		for sc.Scan() {
			var e map[string]any
			if json.Unmarshal(sc.Bytes(), &e) == nil && e["msg"] == "wpbridge listening" {
				if a, _ := e["addr"].(string); a != "" {
					return a
				}
			}
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited early with %d:\n%s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not start listening:\n%s", stderr.String())
	return ""
}

func TestServe(t *testing.T) {
	for _, args := range [][]string{nil, {"serve"}} {
		env := baseEnv(t)
		env["LISTEN_ADDR"], env["LOG_FORMAT"] = "127.0.0.1:0", "json"
		dbPath := strings.TrimPrefix(env["DATABASE_URL"], "sqlite:")
		ctx, cancel := context.WithCancel(context.Background())
		var stdout, stderr syncbuf.Buffer
		done := make(chan int, 1)
		go func() { done <- run(ctx, args, envconfig.MapLookuper(env), &stdout, &stderr) }()
		addr := listenAddr(t, &stderr, done)

		t.Cleanup(cancel) // serve stops if the wait fails
		wait.For(t, 10*time.Second, fmt.Sprintf("%q: /readyz to answer 200", args), func() (bool, string) {
			resp, err := http.Get("http://" + addr + "/readyz")
			if err != nil {
				return false, stderr.String()
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK, resp.Status + "\n" + stderr.String()
		})
		// A webhook with a wrong key is refused by the running server.
		if resp, err := http.Get("http://" + addr + "/?wpf_action=add&contact_id=1&access_key=nope"); err != nil || resp.StatusCode != 403 {
			t.Errorf("wrong key: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Fatalf("%q: exit %d:\n%s", args, code, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%q: serve did not stop after cancel", args)
		}
		if _, err := os.Stat(dbPath); err != nil {
			t.Errorf("%q: database file: %v", args, err)
		}
		if _, err := net.Dial("tcp", addr); err == nil {
			t.Errorf("%q: still listening after exit", args)
		}
		out := stderr.String()
		if strings.Contains(out, accessKey) || strings.Contains(out, "access_key=nope") {
			t.Errorf("log contains the access key or a query string")
		}
		if stdout.String() != "" {
			t.Errorf("serve wrote to stdout: %q", stdout.String())
		}
	}
}

func TestServeAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	env := baseEnv(t)
	env["LISTEN_ADDR"] = ln.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code, _, stderr := runCmd(t, ctx, []string{"serve"}, env)
	if code != 1 || !strings.Contains(stderr, "LISTEN_ADDR") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}

// TestServeStartupWarnings: serve starts with an access key shorter than 16
// characters and a database file readable by others, and logs a warning for
// each: naming the variable (never the key), and the file it set to 0600.
func TestServeStartupWarnings(t *testing.T) {
	const shortKey = "Sh0rt-Key-9c"
	env := baseEnv(t)
	env["ACCESS_KEY"], env["LISTEN_ADDR"], env["LOG_FORMAT"] = shortKey, "127.0.0.1:0", "json"
	dbPath := strings.TrimPrefix(env["DATABASE_URL"], "sqlite:")
	if err := os.WriteFile(dbPath, nil, 0o644); err != nil { // an empty file is an empty database
		t.Fatal(err)
	}
	if err := os.Chmod(dbPath, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncbuf.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, nil, envconfig.MapLookuper(env), &stdout, &stderr) }()
	listenAddr(t, &stderr, done)
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	keyWarned, fileWarned := false, false
	sc := bufio.NewScanner(strings.NewReader(stderr.String()))
	for sc.Scan() {
		var e map[string]any
		if json.Unmarshal(sc.Bytes(), &e) != nil || e["level"] != "warning" {
			continue
		}
		switch e["msg"] {
		case "access key shorter than 16 characters":
			keyWarned = e["variable"] == "ACCESS_KEY"
		case "database file was readable by other users: permissions set to 0600":
			fileWarned = e["file"] == dbPath
		}
	}
	if !keyWarned || !fileWarned {
		t.Errorf("warned about ACCESS_KEY %v, about the database file %v:\n%s", keyWarned, fileWarned, stderr.String())
	}
	if st, err := os.Stat(dbPath); err != nil {
		t.Error(err)
	} else if st.Mode().Perm() != 0o600 {
		t.Errorf("database file has mode %o, want 600", st.Mode().Perm())
	}
	if strings.Contains(stderr.String(), shortKey) {
		t.Error("the log shows the access key")
	}
}
