package app_test

// The access lifecycle end to end (remove_access): the real WordPress with
// the companion plugin, a fake AC, webhooks through the HTTP endpoint.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/app"
	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

const accessRemovedMeta = "wpbridge_access_removed"

// lifecycleUser creates a user linked to a new contact with the user's
// email, with the given capability entries (nil: plain subscriber).
func lifecycleUser(t *testing.T, b *bridge, name string, caps ...string) (*wordpress.User, string) {
	t.Helper()
	email := wptest.UniqueEmail(t, "lifecycle-"+name)
	id := b.addContact(acfake.Contact{Email: email})
	u, err := b.WP.Users.Create(context.Background(), wordpress.UserRequest{
		Fields: map[string]string{"username": strings.Split(email, "@")[0], "email": email, "password": "Pass-" + id},
		Roles:  []string{"subscriber"}, Meta: map[string]any{contactIDMeta: id}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.deleteUserByEmail(email) })
	if caps != nil {
		b.Site.SetCapabilities(t, u.ID, caps...)
	}
	return u, id
}

// TestRemoveAccess: a subscriber loses its role, is marked and gets its
// tags, keeping its account; a later add gives the role back. An editor and
// a subscriber with a capability granted directly are left untouched.
func TestRemoveAccess(t *testing.T) {
	b := startBridge(t, nil, app.Options{})
	u, id := lifecycleUser(t, b, "sub")
	r := b.post("/", hook("remove_access"), contactBody(id, u.Email, "Cancelled"))
	if r.Code != http.StatusOK || r.Status != "done" || r.UserID != u.ID {
		t.Fatalf("remove_access = %d %q %q", r.Code, r.Status, r.Message)
	}
	got := b.user(u.ID)
	if len(got.Roles) != 0 || got.MetaString(accessRemovedMeta) == "" || !slices.Equal(got.MetaStrings("activecampaign_tags"), []string{"Cancelled"}) {
		t.Fatalf("after remove_access: roles %v, marker %q, tags %v", got.Roles, got.MetaString(accessRemovedMeta), got.MetaStrings("activecampaign_tags"))
	}
	if !b.Site.CheckPassword(t, got.Username, "Pass-"+id) {
		t.Error("the account no longer logs in (it should keep its account, only lose its role)")
	}
	r = b.post("/", hook("add"), contactBody(id, u.Email, "Paid"))
	if r.Status != "done" || r.UserID != u.ID {
		t.Fatalf("add after remove_access = %d %q %q", r.Code, r.Status, r.Message)
	}
	got = b.user(u.ID)
	if !slices.Equal(got.Roles, []string{"subscriber"}) || got.MetaString(accessRemovedMeta) != "" {
		t.Fatalf("after add: roles %v, marker %q; want [subscriber], no marker", got.Roles, got.MetaString(accessRemovedMeta))
	}

	for _, tc := range []struct {
		name, why string
		caps      []string
	}{
		{"editor", "holds the role editor", []string{"editor"}},
		{"granted", "capabilities beyond its roles", []string{"subscriber", "edit_posts"}},
	} {
		u, id := lifecycleUser(t, b, tc.name, tc.caps...)
		for _, q := range [][]string{nil, {"delete", "true"}} {
			r := b.post("/", hook("remove_access", q...), contactBody(id, u.Email, "Cancelled"))
			if r.Code != http.StatusOK || r.Status != "ignored" || !strings.Contains(r.Message, tc.why) {
				t.Errorf("%s %v: remove_access = %d %q %q, want ignored: %s", tc.name, q, r.Code, r.Status, r.Message, tc.why)
			}
		}
		got := b.user(u.ID)
		wantRoles := slices.DeleteFunc(slices.Clone(tc.caps), func(s string) bool { return s == "edit_posts" })
		if !slices.Equal(got.Roles, wantRoles) || got.MetaString(accessRemovedMeta) != "" {
			t.Errorf("%s: roles %v marker %q, want %v untouched", tc.name, got.Roles, got.MetaString(accessRemovedMeta), wantRoles)
		}
	}
	r = b.post("/", hook("remove_access"), contactBody(strconv.FormatInt(reserveContactIDs(1), 10), "nobody@example.com"))
	if r.Status != "ignored" {
		t.Errorf("unknown contact: %d %q %q, want ignored", r.Code, r.Status, r.Message)
	}
}

// TestRemoveAccessDelete: delete=true deletes the user; its post goes to
// the reassign= user, or to the WP_USERNAME user. An unknown reassign email
// is answered 400 and deletes nothing.
func TestRemoveAccessDelete(t *testing.T) {
	b := startBridge(t, nil, app.Options{})
	heir, _ := lifecycleUser(t, b, "heir")
	admin, err := b.WP.Users.Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		reassign string
		want     int64
	}{
		{"reassign", heir.Email, heir.ID},
		{"default", "", admin.ID},
	} {
		u, id := lifecycleUser(t, b, "del-"+tc.name)
		post := createPost(t, b.Site, u.ID)
		if tc.reassign != "" {
			r := b.post("/", hook("remove_access", "delete", "true", "reassign", "missing-"+tc.reassign), contactBody(id, u.Email))
			if r.Code != http.StatusBadRequest || !strings.Contains(r.Message, "no WordPress user has that email") {
				t.Errorf("unknown reassign = %d %q %q, want 400", r.Code, r.Status, r.Message)
			}
			b.user(u.ID) // still there
		}
		q := []string{"delete", "true"}
		if tc.reassign != "" {
			q = append(q, "reassign", tc.reassign)
		}
		r := b.post("/", hook("remove_access", q...), contactBody(id, u.Email))
		if r.Status != "done" || r.UserID != u.ID {
			t.Fatalf("%s: delete = %d %q %q", tc.name, r.Code, r.Status, r.Message)
		}
		if _, err := b.WP.Users.Get(context.Background(), u.ID); err == nil {
			t.Errorf("%s: user %d still exists", tc.name, u.ID)
		}
		if author := postAuthor(t, b.Site, post); author != tc.want {
			t.Errorf("%s: post %d belongs to user %d, want %d", tc.name, post, author, tc.want)
		}
	}
}

// TestRemoveAccessCoalesced: pending add and remove_access of one contact
// merge into one round in which the later webhook wins.
func TestRemoveAccessCoalesced(t *testing.T) {
	b := startBridge(t, nil, app.Options{RetryBase: time.Second, RetryCap: 2 * time.Second})
	for _, order := range [][2]string{{"add", "remove_access"}, {"remove_access", "add"}} {
		u, id := lifecycleUser(t, b, order[0])
		// AC down: the first webhook's round fails (add loads the contact,
		// remove_access without payload tags loads them) and waits to retry.
		b.AC.SetDown(http.StatusServiceUnavailable)
		before := b.acRequests()
		first := b.post("/", hook(order[0], "async", "true"), contactBody(id, ""))
		wait.For(t, 20*time.Second, "the first round to ask AC", func() (bool, string) {
			n := b.acRequests()
			return n > before, fmt.Sprintf("%d AC requests", n)
		})
		second := b.post("/", hook(order[1], "async", "true"), contactBody(id, u.Email, "Tag"))
		b.AC.SetDown(0)
		waitSettled(t, b.URL, 30*time.Second)
		got := b.user(u.ID)
		if order[1] == "add" {
			if !slices.Equal(got.Roles, []string{"subscriber"}) || got.MetaString(accessRemovedMeta) != "" {
				t.Errorf("%v: roles %v marker %q, want the add to win", order, got.Roles, got.MetaString(accessRemovedMeta))
			}
		} else if len(got.Roles) != 0 || got.MetaString(accessRemovedMeta) == "" {
			t.Errorf("%v: roles %v marker %q, want remove_access to win", order, got.Roles, got.MetaString(accessRemovedMeta))
		}
		states := map[string]int{}
		for _, w := range []int64{first.WebhookID, second.WebhookID} {
			o, err := b.App.Queue.Outcome(context.Background(), w)
			if err != nil {
				t.Fatal(err)
			}
			states[o.State]++
		}
		if states["done"] != 1 || states["ignored"] != 1 {
			t.Errorf("%v: webhook states %v, want one done and one ignored (covered)", order, states)
		}
	}
}

// createPost publishes a post by author through the REST API as the admin.
func createPost(t *testing.T, site wptest.Site, author int64) int64 {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"title": "lifecycle test", "status": "publish", "author": author})
	var out struct {
		ID int64 `json:"id"`
	}
	wpJSON(t, site, http.MethodPost, "/wp-json/wp/v2/posts", body, &out)
	t.Cleanup(func() {
		wpJSON(t, site, http.MethodDelete, fmt.Sprintf("/wp-json/wp/v2/posts/%d?force=true", out.ID), nil, nil)
	})
	return out.ID
}

// postAuthor reads a post's author.
func postAuthor(t *testing.T, site wptest.Site, id int64) int64 {
	t.Helper()
	var out struct {
		Author int64 `json:"author"`
	}
	wpJSON(t, site, http.MethodGet, fmt.Sprintf("/wp-json/wp/v2/posts/%d?context=edit", id), nil, &out)
	return out.Author
}

func wpJSON(t *testing.T, site wptest.Site, method, path string, body []byte, out any) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, site.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(site.Username, site.AppPassword)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: status %d", method, path, resp.StatusCode)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}
