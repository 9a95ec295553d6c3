package wordpress_test

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wpbridge/wpbridge/internal/testing/wptest"
)

// postUser sends body as JSON to the users endpoint for user id, as user
// with password, and returns the status, the X-WPBridge-Write header and
// the answer.
func postUser(t *testing.T, env wptest.Site, id int64, user, password string, body map[string]any) (int, string, map[string]any) {
	t.Helper()
	status, h, out := rawREST(t, env, http.MethodPost, "/wp/v2/users/"+strconv.FormatInt(id, 10), user, password, nil, body)
	return status, h.Get("X-WPBridge-Write"), out
}

// TestMetaOnlyWrite: an update from wpbridge that writes only meta and the
// names WordPress keeps in meta is made without wp_update_user
// (X-WPBridge-Write: meta), with the same result (names sanitised the same
// way) and the same actions as through the users endpoint, and the same
// refusals.
func TestMetaOnlyWrite(t *testing.T) {
	t.Parallel()
	hooks := func(h *hookRun) map[string]any {
		return map[string]any{"action": "update_tags", "contact_id": "c" + strconv.FormatInt(h.id, 10), "tags_key": hookTags, "meta": map[string]any{}}
	}
	fast, slow := newHookRun(t, "subscriber"), newHookRun(t, "subscriber")
	env := fast.env
	var answers []map[string]any
	var fired [][]string
	for _, h := range []*hookRun{fast, slow} {
		body := map[string]any{"wpbridge_meta": map[string]any{hookTags: []string{"Gold", "VIP"}, "phone": "555"}, "wpbridge_hooks": hooks(h),
			"first_name": "Ann <b>Bee</b>", "last_name": ` O'Lee \ "x" `, "nickname": `an\nie`, "description": "line one\nline <i>two</i> \\ \\\\"}
		if h == slow {
			body["locale"] = "" // a core field (unchanged): the users endpoint makes the write
		}
		status, way, out := postUser(t, env, h.id, env.Username, env.AppPassword, body)
		if status != 200 || (way == "meta") != (h == fast) {
			t.Fatalf("write: status %d, way %q (%.300v); want 200, meta-only %v", status, way, out, h == fast)
		}
		answers = append(answers, out)
		got := h.fired()
		for i := range got {
			got[i] = strings.ReplaceAll(strings.ReplaceAll(got[i], strconv.FormatInt(h.id, 10), "ID"), "cID", "CID")
		}
		fired = append(fired, got)
	}
	if !slices.Equal(fired[0], fired[1]) || len(fired[0]) == 0 {
		t.Errorf("actions fired:\n meta-only %q\n endpoint  %q", fired[0], fired[1])
	}
	for _, k := range []string{"wpbridge_meta", "roles", "capabilities", "wpbridge_warnings", "first_name", "last_name", "nickname", "description"} {
		if !jsonEqual(answers[0][k], answers[1][k]) {
			t.Errorf("%s: meta-only %v, endpoint %v", k, answers[0][k], answers[1][k])
		}
	}

	if got := answers[0]["first_name"]; got != "Ann Bee" {
		t.Errorf("first name %q, want it sanitised as WordPress does (Ann Bee)", got)
	}
	if got, _ := answers[0]["last_name"].(string); !strings.Contains(got, `\`) {
		t.Errorf("last name %q lost its backslash", got)
	}

	// The same refusals as the users endpoint's.
	state, _ := answers[0]["wpbridge_state"].(string)
	for _, tc := range []struct {
		name, user, password string
		body                 map[string]any
		status               int
	}{
		{"protected key", env.Username, env.AppPassword, map[string]any{"wpbridge_meta": map[string]any{"wp_capabilities": "x"}, "wpbridge_hooks": hooks(fast)}, 400},
		{"stale state", env.Username, env.AppPassword, map[string]any{"wpbridge_meta": map[string]any{"phone": "556"}, "wpbridge_hooks": hooks(fast), "wpbridge_if_state": state + "x"}, 412},
		{"no right to edit users", env.AuthorUsername, env.AuthorAppPassword, map[string]any{"wpbridge_meta": map[string]any{"phone": "557"}, "wpbridge_hooks": hooks(fast)}, 403},
	} {
		status, _, out := postUser(t, env, fast.id, tc.user, tc.password, tc.body)
		if status != tc.status {
			t.Errorf("%s: status %d (%.200v), want %d", tc.name, status, out, tc.status)
		}
	}
	if u, err := fast.wp.Users.Get(t.Context(), fast.id); err != nil || u.MetaString("phone") != "555" {
		t.Errorf("after the refused writes: phone %q, %v; want 555", u.MetaString("phone"), err)
	}
}
