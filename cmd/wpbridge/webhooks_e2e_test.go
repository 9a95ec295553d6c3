package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/childproc"
	"github.com/wpbridge/wpbridge/internal/testing/syncbuf"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

// binary builds cmd/wpbridge into a temporary folder.
func binary(t *testing.T) string {
	t.Helper()
	root, err := childproc.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := childproc.Build(t.Context(), root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// runBin runs the binary with env and returns its exit status and output.
func runBin(t *testing.T, bin string, env []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("run %q: %v", args, err)
	}
	for _, s := range []string{stdout.String(), stderr.String()} {
		for _, secret := range []string{acKey, accessKey} {
			if strings.Contains(s, secret) {
				t.Fatalf("output of %q contains a secret", args)
			}
		}
	}
	return code, stdout.String(), stderr.String()
}

// TestWebhookReplayThroughTheBinary: a webhook fails for good (its contact
// has an invalid email); while wpbridge serve runs, the history commands of
// a second process list it, show it and, once the contact is fixed in AC,
// replay it: it ends done and the user exists in the real WordPress.
func TestWebhookReplayThroughTheBinary(t *testing.T) {
	site := wptest.Env(t)
	ac := acfake.NewServer(acfake.Config{APIKey: acKey})
	defer ac.Close()
	bin := binary(t)
	addr, err := childproc.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	env := []string{
		"ACCESS_KEY=" + accessKey, "AC_API_URL=" + ac.URL(), "AC_API_KEY=" + acKey,
		"WP_URL=" + site.URL, "WP_USERNAME=" + site.Username, "WP_APP_PASSWORD=" + site.AppPassword,
		"DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "wpbridge.db"), "LISTEN_ADDR=" + addr, "LOG_FORMAT=json", "WPBRIDGE_TEST_LEAVE_OUTBOX=1",
	}
	logs := &syncbuf.Buffer{}
	p, err := childproc.Start(t.Context(), bin, env, logs)
	if err != nil {
		t.Fatalf("start serve: %v\n%s", err, logs.String())
	}
	defer func() {
		if err := p.Stop(30 * time.Second); err != nil {
			t.Errorf("stop serve: %v", err)
		}
		if strings.Contains(logs.String(), site.AppPassword) || strings.Contains(logs.String(), accessKey) {
			t.Error("the server's log contains a secret")
		}
	}()

	contact := fmt.Sprint(time.Now().UnixMilli()%100_000_000*1000 + 7)
	email := wptest.UniqueEmail(t, "replay")
	wp := site.Client(t)
	t.Cleanup(func() { deleteUser(t, wp, email) })
	ac.AddContact(acfake.Contact{ID: contact, Email: "not-an-email", FirstName: "Replay"})

	id := postFailingWebhook(t, p.URL, contact, email)
	failed := findFailed(t, bin, env, id)
	if !strings.Contains(failed["error"].(string), "invalid email") || failed["contact_id"] != contact ||
		failed["action"] != "add" || failed["source"] != "webhook" || failed["attempts"] != 1.0 {
		t.Errorf("list --state failed --json: %v", failed)
	}
	code, stdout, stderr := runBin(t, bin, env, "webhooks", "show", fmt.Sprint(id))
	for _, w := range []string{"add", "customer", email, "Gold", "failed", "invalid email",
		fmt.Sprintf("replay with: wpbridge webhooks retry %d", id)} {
		if code != 0 || !strings.Contains(stdout, w) {
			t.Errorf("show lacks %q (exit %d):\n%s%s", w, code, stdout, stderr)
		}
	}

	// The contact is fixed in AC; the replay succeeds.
	ac.AddContact(acfake.Contact{ID: contact, Email: email, FirstName: "Replay"})
	code, stdout, stderr = runBin(t, bin, env, "webhooks", "retry", fmt.Sprint(id))
	if code != 0 || !strings.HasPrefix(stdout, "1 webhook put back to pending") {
		t.Fatalf("retry: exit %d, %q %q", code, stdout, stderr)
	}
	state := waitShown(t, bin, env, id)
	if state["state"] != "done" || state["attempts"] != 2.0 || state["error"] != nil || state["user_id"] == nil {
		t.Errorf("replayed webhook %v, want done after 2 attempts with a user", state)
	}
	u, err := wp.Users.FindByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("no user after the replay: %v", err)
	}
	if float64(u.ID) != state["user_id"] || !slices.Contains(u.Roles, "customer") {
		t.Errorf("user %d roles %v, webhook user %v; want the webhook's user with role customer", u.ID, u.Roles, state["user_id"])
	}
	// Retrying it again is refused: it is done.
	if code, _, stderr := runBin(t, bin, env, "webhooks", "retry", fmt.Sprint(id)); code != 1 || !strings.Contains(stderr, "is done, not failed") {
		t.Errorf("second retry: exit %d, %q", code, stderr)
	}
}

// postFailingWebhook sends an add that fails for good and returns its id.
func postFailingWebhook(t *testing.T, base, contact, email string) int64 {
	t.Helper()
	form := url.Values{"contact[id]": {contact}, "contact[email]": {email}, "contact[tags]": {"Gold, VIP"}}
	resp, err := http.PostForm(base+"/?wpf_action=add&role=customer&access_key="+accessKey, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Status, Message string
		WebhookID       int64 `json:"webhook_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusUnprocessableEntity || r.Status != "failed" ||
		!strings.Contains(r.Message, fmt.Sprintf("replay with: wpbridge webhooks retry %d", r.WebhookID)) {
		t.Fatalf("add for a contact with an invalid email = %d %+v, want 422 failed with the replay hint", resp.StatusCode, r)
	}
	return r.WebhookID
}

// findFailed returns webhook id's line of webhooks list --state failed --json.
func findFailed(t *testing.T, bin string, env []string, id int64) map[string]any {
	t.Helper()
	code, stdout, stderr := runBin(t, bin, env, "webhooks", "list", "--state", "failed", "--json")
	if code != 0 {
		t.Fatalf("list: exit %d: %s", code, stderr)
	}
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("list line %q: %v", l, err)
		}
		if m["id"] == float64(id) {
			return m
		}
	}
	t.Fatalf("webhook %d not in list --state failed --json:\n%s", id, stdout)
	return nil
}

// waitShown polls webhooks show ID --json until the webhook is finished.
func waitShown(t *testing.T, bin string, env []string, id int64) map[string]any {
	t.Helper()
	var m map[string]any
	wait.For(t, 60*time.Second, fmt.Sprintf("webhook %d to leave pending after the retry", id), func() (bool, string) {
		code, stdout, stderr := runBin(t, bin, env, "webhooks", "show", fmt.Sprint(id), "--json")
		m = nil
		if code != 0 || json.Unmarshal([]byte(stdout), &m) != nil {
			t.Fatalf("show --json: exit %d, %q %q", code, stdout, stderr)
		}
		return m["state"] != "pending", fmt.Sprint(m)
	})
	return m
}

func deleteUser(t *testing.T, wp *wordpress.Client, email string) {
	u, err := wp.Users.FindByEmail(context.Background(), email)
	if errors.Is(err, wordpress.ErrNotFound) {
		return
	}
	if err != nil {
		t.Errorf("find %s: %v", email, err)
		return
	}
	if err := wp.Users.Delete(context.Background(), u.ID, 1); err != nil {
		t.Errorf("delete user %d: %v", u.ID, err)
	}
}
