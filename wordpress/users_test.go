package wordpress

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"
)

func TestUsersService_Create(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		c := fakeWP(t, map[string]http.HandlerFunc{"POST /wp/v2/users": func(w http.ResponseWriter, r *http.Request) {
			if got := r.URL.Query().Get("context"); got != "edit" {
				t.Errorf("context = %q, want edit", got)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type = %q", ct)
			}
			var body map[string]any
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			want := `{"email":"alice@example.com","first_name":"Alice","password":"s3cret!","roles":["customer"],"send_user_notification":true,"username":"alice","wpbridge_meta":{"activecampaign_tags":["a","b c"],"gone":null}}`
			if got, _ := json.Marshal(body); string(got) != want {
				t.Errorf("body = %s\nwant   %s", got, want)
			}
			writeJSON(w, http.StatusCreated, aliceJSON)
		}})
		u, err := c.Users.Create(t.Context(), UserRequest{
			Fields:           map[string]string{"username": "alice", "email": "alice@example.com", "password": "s3cret!", "first_name": "Alice"},
			Roles:            []string{"customer"},
			SendNotification: true,
			Meta:             map[string]any{"activecampaign_tags": []string{"a", "b c"}, "gone": nil},
		})
		if err != nil {
			t.Fatal(err)
		}
		if u.ID != 7 || u.Name != "Alice A" || u.Roles[0] != "customer" {
			t.Errorf("user = %+v", u)
		}
		// Fields holds every string field by its REST name, and nothing else.
		wantFields := map[string]string{"username": "alice", "name": "Alice A", "first_name": "Alice", "last_name": "A",
			"email": "alice@example.com", "url": "", "description": "", "nickname": "alice"}
		if !maps.Equal(u.Fields, wantFields) {
			t.Errorf("Fields = %v\nwant     %v", u.Fields, wantFields)
		}
		if got := u.MetaStrings("activecampaign_tags"); len(got) != 2 || got[1] != "b c" {
			t.Errorf("tags = %q", got)
		}
		if got := u.MetaString("activecampaign_contact_id"); got != "42" {
			t.Errorf("contact id = %q", got)
		}
	})
	for _, tt := range []struct {
		name, code string
		want       error
	}{
		{"ExistingLogin", "existing_user_login", ErrExistingLogin},
		{"ExistingEmail", "existing_user_email", ErrExistingEmail},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := fakeWP(t, map[string]http.HandlerFunc{"POST /wp/v2/users": wpError(500, tt.code, "Sorry, that already exists!")})
			_, err := c.Users.Create(t.Context(), UserRequest{Fields: map[string]string{"username": "a", "email": "a@example.com", "password": "pw"}})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var we *Error
			if !errors.As(err, &we) || we.Temporary() || we.StatusCode != 500 {
				t.Errorf("error = %#v, want permanent 500", we)
			}
		})
	}
	t.Run("HTMLAnswer", func(t *testing.T) {
		t.Parallel()
		c := fakeWP(t, map[string]http.HandlerFunc{"POST /wp/v2/users": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=UTF-8")
			io.WriteString(w, "<html><body>Maintenance</body></html>")
		}})
		_, err := c.Users.Create(t.Context(), UserRequest{Fields: map[string]string{"username": "a", "email": "a@example.com", "password": "pw"}})
		var we *Error
		if !errors.As(err, &we) || we.Code != CodeInvalidResponse || !we.Temporary() {
			t.Fatalf("err = %v, want temporary invalid_response", err)
		}
	})
	t.Run("EmptyJSON200", func(t *testing.T) {
		t.Parallel()
		c := fakeWP(t, map[string]http.HandlerFunc{"POST /wp/v2/users": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
		}})
		_, err := c.Users.Create(t.Context(), UserRequest{Fields: map[string]string{"username": "a", "email": "a@example.com", "password": "pw"}})
		if err == nil || !strings.Contains(err.Error(), CodeInvalidResponse) {
			t.Fatalf("err = %v, want invalid_response", err)
		}
	})
	t.Run("PluginMissing", func(t *testing.T) {
		t.Parallel()
		c := fakeWP(t, map[string]http.HandlerFunc{"POST /wp/v2/users": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 201, `{"id":9,"username":"a","roles":["subscriber"]}`)
		}})
		u, err := c.Users.Create(t.Context(), UserRequest{Fields: map[string]string{"username": "a", "email": "a@example.com", "password": "pw"}, Meta: map[string]any{"k": "v"}})
		if !errors.Is(err, ErrPluginMissing) || u == nil || u.ID != 9 {
			t.Fatalf("user %v, err = %v, want user and ErrPluginMissing", u, err)
		}
	})
	t.Run("Invalid", func(t *testing.T) {
		t.Parallel()
		c := fakeWP(t, nil)
		for _, req := range []UserRequest{
			{Fields: map[string]string{"email": "a@example.com", "password": "pw"}},
			{Fields: map[string]string{"username": "a", "email": "a@example.com", "password": "pw"}, Meta: map[string]any{"n": 3}},
			{Fields: map[string]string{"username": "a", "email": "a@example.com", "password": "pw", "roles": "administrator"}},
		} {
			if _, err := c.Users.Create(t.Context(), req); !errors.Is(err, ErrInvalid) {
				t.Errorf("Create(%+v) err = %v, want ErrInvalid", req, err)
			}
		}
	})
	t.Run("NoSecretsInErrors", func(t *testing.T) {
		t.Parallel()
		c := fakeWP(t, map[string]http.HandlerFunc{"POST /wp/v2/users": wpError(400, "rest_invalid_param",
			"bad password user-pw-123 with key "+testAppPassword)})
		_, err := c.Users.Create(t.Context(), UserRequest{Fields: map[string]string{"username": "a", "email": "a@example.com", "password": "user-pw-123"}})
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("err = %v, want ErrInvalid", err)
		}
		if msg := err.Error(); strings.Contains(msg, "user-pw-123") || strings.Contains(msg, testAppPassword) || strings.Contains(msg, "rest_route") {
			t.Errorf("error leaks a secret or the query: %s", msg)
		}
	})
}

func TestUsersService_FindByEmail(t *testing.T) {
	t.Parallel()
	list := `[{"id":3,"username":"malice","email":"malice@example.com"},
		{"id":4,"username":"alice2","email":"alice@example.com.au"},
		{"id":5,"username":"alice","email":"Alice@Example.com"},
		{"id":6,"username":"kelvin","email":"\u212Aate@example.com"}]`
	for _, tt := range []struct {
		name, email, rawSearch string
		wantID                 int64
	}{
		{"Exact", "alice@example.com", "search=alice%40example.com", 5},
		{"Plus", "a+b@example.com", "search=a%2Bb%40example.com", 0},
		{"NearMatchOnly", "lice@example.com", "search=lice%40example.com", 0},
		// A database collation may fold the Kelvin sign to k: not the same address.
		{"LookAlikeOnly", "kate@example.com", "search=kate%40example.com", 0},
		{"LookAlikeAsked", "Kate@example.com", "search=Kate%40example.com", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := fakeWP(t, map[string]http.HandlerFunc{"GET /wp/v2/users": func(w http.ResponseWriter, r *http.Request) {
				if !strings.Contains(r.URL.RawQuery, tt.rawSearch) || r.URL.Query().Get("context") != "edit" {
					t.Errorf("query = %s, want %s and context=edit", r.URL.RawQuery, tt.rawSearch)
				}
				w.Header().Set("X-WP-TotalPages", "1")
				writeJSON(w, 200, list)
			}})
			u, err := c.Users.FindByEmail(t.Context(), tt.email)
			if tt.wantID == 0 {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("err = %v, want ErrNotFound", err)
				}
				return
			}
			if err != nil || u.ID != tt.wantID {
				t.Fatalf("user = %+v, err = %v, want id %d", u, err, tt.wantID)
			}
		})
	}
	t.Run("Unauthorized", func(t *testing.T) {
		t.Parallel()
		c := fakeWP(t, map[string]http.HandlerFunc{"GET /wp/v2/users": wpError(401, "rest_forbidden_context",
			"Sorry, you are not allowed to edit users.")})
		_, err := c.Users.FindByEmail(t.Context(), "alice@example.com")
		var we *Error
		if !errors.Is(err, ErrUnauthorized) || !errors.As(err, &we) || we.Temporary() {
			t.Fatalf("err = %v, want permanent ErrUnauthorized", err)
		}
		if !strings.Contains(err.Error(), "GET /wp/v2/users") || strings.Contains(err.Error(), "alice") {
			t.Errorf("message = %q, want method and path without query", err)
		}
	})
}

func TestUsersService_GetAndFindByMeta(t *testing.T) {
	t.Parallel()
	c := fakeWP(t, map[string]http.HandlerFunc{
		"GET /wp/v2/users/7":  func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, aliceJSON) },
		"GET /wp/v2/users/8":  wpError(404, "rest_user_invalid_id", "Invalid user ID."),
		"GET /wp/v2/users/9":  func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"id":9,"wpbridge_meta":[]}`) },
		"GET /wp/v2/users/10": wpError(503, "service_unavailable", "down"),
		"GET /wpbridge/v1/users/by-meta": func(w http.ResponseWriter, r *http.Request) {
			if q := r.URL.Query(); q.Get("key") != "activecampaign_contact_id" || q.Get("value") != "42" {
				writeJSON(w, 404, `{"code":"wpbridge_user_not_found","message":"none"}`)
				return
			}
			writeJSON(w, 200, aliceJSON)
		},
	})
	ctx := t.Context()
	if u, err := c.Users.Get(ctx, 7); err != nil || u.Email != "alice@example.com" {
		t.Errorf("Get(7) = %+v, %v", u, err)
	}
	if _, err := c.Users.Get(ctx, 8); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(8) err = %v, want ErrNotFound", err)
	}
	if u, err := c.Users.Get(ctx, 9); err != nil || u.Meta == nil || len(u.Meta) != 0 {
		t.Errorf("Get(9) meta = %#v, %v; want empty map", u, err)
	}
	var we *Error
	if _, err := c.Users.Get(ctx, 10); !errors.As(err, &we) || !we.Temporary() {
		t.Errorf("Get(10) err = %v, want temporary", err)
	}
	if u, err := c.Users.FindByMeta(ctx, "activecampaign_contact_id", "42"); err != nil || u.ID != 7 {
		t.Errorf("FindByMeta = %+v, %v", u, err)
	}
	if _, err := c.Users.FindByMeta(ctx, "activecampaign_contact_id", "43"); !errors.Is(err, ErrNotFound) {
		t.Errorf("FindByMeta(43) err = %v, want ErrNotFound", err)
	}
}

func TestSiteService_Status(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		c := fakeWP(t, map[string]http.HandlerFunc{"GET /wpbridge/v1/status": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, `{"version":"1.0.0","wordpress":"6.1.9","roles":{"customer":"Customer"},"capabilities":{"edit_users":true,"list_users":false}}`)
		}})
		s, err := c.Site.Status(t.Context())
		if err != nil || s.WordPress != "6.1.9" || s.Roles["customer"] != "Customer" || !s.Capabilities["edit_users"] || s.Capabilities["list_users"] {
			t.Fatalf("status = %+v, %v", s, err)
		}
	})
	t.Run("PluginMissing", func(t *testing.T) {
		t.Parallel()
		c := fakeWP(t, map[string]http.HandlerFunc{"GET /wpbridge/v1/status": wpError(404, "rest_no_route", "No route was found matching the URL and request method.")})
		if _, err := c.Site.Status(t.Context()); !errors.Is(err, ErrPluginMissing) || errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want ErrPluginMissing only", err)
		}
	})
}

func TestUsersService_CheckPassword(t *testing.T) {
	t.Parallel()
	const secret = "Pending-Pw-9x7"
	c := fakeWP(t, map[string]http.HandlerFunc{
		"POST /wpbridge/v1/users/5/password-check": func(w http.ResponseWriter, r *http.Request) {
			var body map[string]string
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body) != 1 {
				t.Errorf("body = %v, %v; want only the password", body, err)
			}
			if r.URL.Query().Has("password") {
				t.Error("password sent in the query")
			}
			writeJSON(w, 200, fmt.Sprintf(`{"match":%v}`, body["password"] == secret))
		},
		"POST /wpbridge/v1/users/6/password-check": wpError(404, "wpbridge_user_not_found", "No such user."),
		"POST /wpbridge/v1/users/7/password-check": wpError(404, "rest_no_route", "No route was found matching the URL and request method."),
		"POST /wpbridge/v1/users/8/password-check": func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{}`) },
		"POST /wpbridge/v1/users/9/password-check": wpError(400, "rest_invalid_param", "Invalid parameter: "+secret),
	})
	ctx := t.Context()
	if ok, err := c.Users.CheckPassword(ctx, 5, secret); err != nil || !ok {
		t.Errorf("right password = %v, %v; want true", ok, err)
	}
	if ok, err := c.Users.CheckPassword(ctx, 5, "wrong"); err != nil || ok {
		t.Errorf("wrong password = %v, %v; want false", ok, err)
	}
	for _, tt := range []struct {
		id   int64
		pw   string
		want error
	}{{6, secret, ErrNotFound}, {7, secret, ErrPluginMissing}, {9, secret, ErrInvalid}, {5, "", ErrInvalid}, {0, secret, ErrInvalid}} {
		ok, err := c.Users.CheckPassword(ctx, tt.id, tt.pw)
		if ok || !errors.Is(err, tt.want) {
			t.Errorf("user %d: %v, %v; want %v", tt.id, ok, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("user %d: the password is in the error", tt.id)
		}
	}
	var we *Error
	if ok, err := c.Users.CheckPassword(ctx, 8, secret); ok || !errors.As(err, &we) || we.Code != CodeInvalidResponse {
		t.Errorf("answer without match = %v, %v; want invalid_response", ok, err)
	}
}
