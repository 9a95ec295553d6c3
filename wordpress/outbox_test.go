package wordpress

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"
)

func TestOutbox_PullDecodes(t *testing.T) {
	c := fakeWP(t, map[string]http.HandlerFunc{
		"GET /wpbridge/v1/outbox/events": func(w http.ResponseWriter, r *http.Request) {
			if q := r.URL.Query(); q.Get("after") != "7" || q.Get("limit") != "2" {
				t.Errorf("query = %v", q)
			}
			writeJSON(w, 200, `{"events":[
				{"id":8,"type":"register","user_id":5,"time":"2026-01-02T03:04:05Z","user":{"user_id":5,"user_login":"ann","user_email":"ann@example.com","first_name":"Ann","meta":{}}},
				{"id":9,"type":"update","user_id":5,"time":"2026-01-02T03:04:06Z","user":{"user_email":"new@example.com","old_email":"ann@example.com","meta":{"phone":"555","tags":["a","b"],"odd":3}}}
			],"epoch":"e1","dropped":0}`)
		},
	})
	evs, err := c.Outbox.Pull(t.Context(), 7, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].ID != 8 || evs[0].Epoch != "e1" || evs[1].Epoch != "e1" || evs[0].Type != EventRegister || evs[0].User.Login != "ann" || evs[0].User.FirstName != "Ann" ||
		!evs[0].Time.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) || len(evs[0].User.Meta) != 0 {
		t.Fatalf("first = %+v", evs)
	}
	u := evs[1].User
	if u.OldEmail != "ann@example.com" || u.Meta["phone"] != "555" || !slices.Equal(u.Meta["tags"].([]string), []string{"a", "b"}) {
		t.Errorf("second = %+v", u)
	}
	if _, ok := u.Meta["odd"]; ok {
		t.Errorf("a non-string meta value was kept")
	}
	if v, ok := u.Field("tags"); !ok || v != "a, b" {
		t.Errorf("Field(tags) = %q, %v", v, ok)
	}
	if v, ok := u.Field("user_email"); !ok || v != "new@example.com" {
		t.Errorf("Field(user_email) = %q, %v", v, ok)
	}
	if _, ok := u.Field("missing"); ok {
		t.Errorf("Field(missing) ok")
	}
}

func TestOutbox_PullRefusesMalformed(t *testing.T) {
	for name, body := range map[string]string{
		"unknown type":       `{"events":[{"id":8,"type":"login","user_id":5,"time":"2026-01-02T03:04:05Z","user":{}}]}`,
		"no time":            `{"epoch":"e","events":[{"id":8,"type":"update","user_id":5,"user":{}}]}`,
		"id not above":       `{"epoch":"e","events":[{"id":7,"type":"update","user_id":5,"time":"2026-01-02T03:04:05Z","user":{}}]}`,
		"no user id":         `{"epoch":"e","events":[{"id":8,"type":"update","time":"2026-01-02T03:04:05Z","user":{}}]}`,
		"user not an object": `{"epoch":"e","events":[{"id":8,"type":"update","user_id":5,"time":"2026-01-02T03:04:05Z","user":"x"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			c := fakeWP(t, map[string]http.HandlerFunc{
				"GET /wpbridge/v1/outbox/events": func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, body) },
			})
			_, err := c.Outbox.Pull(t.Context(), 7, 10)
			var we *Error
			if !errors.As(err, &we) || we.Code != CodeInvalidResponse {
				t.Errorf("err = %v, want invalid_response", err)
			}
		})
	}
}

func TestOutbox_Arguments(t *testing.T) {
	c := fakeWP(t, nil)
	for _, limit := range []int{0, MaxOutboxBatch + 1} {
		if _, err := c.Outbox.Pull(t.Context(), 0, limit); !errors.Is(err, ErrInvalid) {
			t.Errorf("limit %d: %v", limit, err)
		}
	}
	if _, err := c.Outbox.Pull(t.Context(), -1, 1); !errors.Is(err, ErrInvalid) {
		t.Errorf("after -1: %v", err)
	}
	if _, err := c.Outbox.Ack(t.Context(), -1); !errors.Is(err, ErrInvalid) {
		t.Errorf("ack -1: %v", err)
	}
}

func TestOutbox_EnableAckAndErrors(t *testing.T) {
	var got map[string]any
	c := fakeWP(t, map[string]http.HandlerFunc{
		"POST /wpbridge/v1/outbox": func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			json.Unmarshal(b, &got)
			writeJSON(w, 200, `{"enabled":true,"meta_keys":["phone"],"user":1,"db_version":"1","pending":3,"oldest":4,"newest":6,"dropped":2,"limit":100000}`)
		},
		"POST /wpbridge/v1/outbox/ack": func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			if string(b) != `{"up_to":6}` {
				t.Errorf("ack body %s", b)
			}
			writeJSON(w, 200, `{"deleted":3}`)
		},
		"GET /wpbridge/v1/outbox":    wpError(404, "rest_no_route", "No route was found matching the URL and request method."),
		"DELETE /wpbridge/v1/outbox": func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"enabled":false}`) },
	})
	st, err := c.Outbox.Enable(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got["enabled"] != true || got["meta_keys"] == nil {
		t.Errorf("enable body = %v (meta_keys must be a list, not null)", got)
	}
	if !st.Enabled || st.Pending != 3 || st.Dropped != 2 || st.Limit != OutboxLimit || !slices.Equal(st.MetaKeys, []string{"phone"}) {
		t.Errorf("status = %+v", st)
	}
	if n, err := c.Outbox.Ack(t.Context(), 6); err != nil || n != 3 {
		t.Errorf("ack = %d, %v", n, err)
	}
	if _, err := c.Outbox.Status(t.Context()); !errors.Is(err, ErrPluginMissing) {
		t.Errorf("status without the route: %v, want ErrPluginMissing", err)
	}
	if _, err := c.Outbox.Drop(t.Context()); err == nil {
		t.Errorf("an answer without a limit was accepted")
	}
}
