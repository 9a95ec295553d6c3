package adapters

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// TestUsersCapabilities: the rules learn which capabilities a user holds
// beyond its roles and which admin-level ones it holds; an answer without
// capabilities makes them unknown.
func TestUsersCapabilities(t *testing.T) {
	with := func(extra, all map[string]any) map[string]any {
		u := maps.Clone(annWire)
		u["roles"] = []string{"subscriber"}
		if extra != nil {
			u["extra_capabilities"] = extra
		}
		if all != nil {
			u["capabilities"] = all
		}
		return u
	}
	tests := []struct {
		name         string
		wire         map[string]any
		extra, admin []string
		unknown      bool
	}{
		{"plain subscriber", with(map[string]any{"subscriber": true}, map[string]any{"read": true, "subscriber": true}), nil, nil, false},
		{"granted manage_options", with(map[string]any{"subscriber": true, "manage_options": true},
			map[string]any{"read": true, "subscriber": true, "manage_options": true}), []string{"manage_options"}, []string{"manage_options"}, false},
		{"denied capability is not held", with(map[string]any{"subscriber": true, "edit_posts": false}, map[string]any{"read": true}), nil, nil, false},
		{"allowed role with an admin capability", with(map[string]any{"subscriber": true},
			map[string]any{"read": true, "unfiltered_html": true, "edit_users": false}), nil, []string{"unfiltered_html"}, false},
		{"no role", with(map[string]any{}, map[string]any{}), nil, nil, false},
		{"not reported", with(nil, nil), nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			users, _ := newUsers(t, map[string]func(http.ResponseWriter, *http.Request){
				"GET /wpbridge/v1/users/by-meta": answer(200, tt.wire),
			})
			u, err := users.FindByMeta(context.Background(), "activecampaign_contact_id", "7")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(u.ExtraCaps, tt.extra) || !slices.Equal(u.AdminCaps, tt.admin) || u.CapsUnknown != tt.unknown {
				t.Errorf("extra %q admin %q unknown %v, want %q %q %v", u.ExtraCaps, u.AdminCaps, u.CapsUnknown, tt.extra, tt.admin, tt.unknown)
			}
		})
	}
}

// TestRolesCached: the privileged roles come from the status route, asked at
// most once per TTL; a plugin that does not report them is an error.
func TestRolesCached(t *testing.T) {
	var calls atomic.Int32
	var status atomic.Value // map[string]any
	status.Store(map[string]any{"version": "1.0.0", "role_admin_capabilities": map[string]any{
		"administrator": []string{"manage_options"}, "editor": []string{"unfiltered_html"}, "subscriber": []string{}}})
	users, _ := newUsers(t, map[string]func(http.ResponseWriter, *http.Request){
		"GET /wpbridge/v1/status": func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			answer(200, status.Load())(w, r)
		},
	})
	now := time.Unix(1_700_000_000, 0)
	roles := &Roles{WP: users.WP, TTL: time.Minute, Now: func() time.Time { return now }}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		got, err := roles.AdminRoles(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !got["editor"] || !got["administrator"] || got["subscriber"] || len(got) != 2 {
			t.Errorf("AdminRoles = %v", got)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("status requests within the TTL = %d, want 1", n)
	}
	now = now.Add(time.Minute)
	status.Store(map[string]any{"version": "1.0.0", "role_admin_capabilities": map[string]any{"editor": []string{}}})
	got, err := roles.AdminRoles(ctx)
	if err != nil || got["editor"] || calls.Load() != 2 {
		t.Errorf("after the TTL: %v, %v, %d requests; want editor no longer privileged, 2 requests", got, err, calls.Load())
	}

	status.Store(map[string]any{"version": "1.0.0"})
	old := &Roles{WP: users.WP}
	if _, err := old.AdminRoles(ctx); err == nil {
		t.Error("a plugin without role_admin_capabilities: no error")
	}
}
