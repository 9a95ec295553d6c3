package acfake_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/testing/acfake"
)

// v1 posts to /admin/api.php the way WP Fusion's get_tags does (query
// parameters, a form content type, the key as api_key and as Api-Token when
// header is true) and decodes the answer.
func v1(t *testing.T, srv *acfake.Server, apiKey, id string, header bool) (int, map[string]any) {
	t.Helper()
	q := url.Values{"api_key": {apiKey}, "api_action": {"contact_view"}, "api_output": {"json"}, "id": {id}}
	req, err := http.NewRequest(http.MethodPost, srv.URL()+"/admin/api.php?"+q.Encode(), strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if header {
		req.Header.Set("Api-Token", apiKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return resp.StatusCode, out
}

func TestV1ContactView(t *testing.T) {
	t.Parallel()
	srv := acfake.NewServer(acfake.Config{APIKey: key, RateLimit: 2})
	defer srv.Close()
	id := srv.AddContact(acfake.Contact{Email: "v1@example.com", FirstName: "Vee", Tags: []string{"Gold", "VIP"}})

	status, got := v1(t, srv, key, id, false)
	if status != 200 || got["result_code"] != float64(1) || got["email"] != "v1@example.com" || got["first_name"] != "Vee" {
		t.Fatalf("contact_view: %d %v", status, got)
	}
	if tags := got["tags"]; !reflect.DeepEqual(tags, []any{"Gold", "VIP"}) {
		t.Errorf("tags = %v, want [Gold VIP]", tags)
	}

	// Tags changed in AC are what the next contact_view lists; the rate
	// limit (2 per second) counts v1 like v3.
	if !srv.SetTags(id, []string{"Bronze"}) {
		t.Fatal("SetTags: no contact")
	}
	if _, got := v1(t, srv, key, id, true); !reflect.DeepEqual(got["tags"], []any{"Bronze"}) {
		t.Errorf("after SetTags: tags = %v, want [Bronze]", got["tags"])
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/api/3/contacts/"+id, nil)
	req.Header.Set("Api-Token", key)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != 429 {
			t.Fatalf("third request in a second: %d, want 429", resp.StatusCode)
		}
	}
	time.Sleep(1100 * time.Millisecond) // the window empties

	// Unknown contact and wrong key: v1's 200 with result_code 0.
	if status, got := v1(t, srv, key, "999999", false); status != 200 || got["result_code"] != float64(0) ||
		!strings.Contains(got["result_message"].(string), "Nothing is returned") {
		t.Errorf("unknown contact: %d %v", status, got)
	}
	if status, got := v1(t, srv, "wrong", id, false); status != 200 || got["result_code"] != float64(0) || got["email"] != nil {
		t.Errorf("wrong key: %d %v", status, got)
	}

	// Recorded like every request, without the key.
	var v1Reqs int
	for _, r := range srv.Requests() {
		if r.Path == "/admin/api.php" {
			v1Reqs++
			if r.Query.Has("api_key") || r.Query.Get("api_action") != "contact_view" {
				t.Errorf("recorded query %v", r.Query)
			}
		}
	}
	if v1Reqs != 4 {
		t.Errorf("recorded %d v1 requests, want 4", v1Reqs)
	}
	if srv.Throttled() != 1 {
		t.Errorf("Throttled = %d, want 1", srv.Throttled())
	}
}
