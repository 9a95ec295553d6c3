package wordpress

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// OutboxService drives the companion plugin's outbox: the
// sign-ups, profile edits and deletions WordPress records for wpbridge to send
// to ActiveCampaign. The plugin records only while enabled, never records
// changes made through wpbridge's own requests (the user that enabled it, with
// an application password), keeps at most OutboxLimit events (the oldest
// dropped and counted) and forgets an event only when acknowledged.
type OutboxService struct{ c *Client }

// OutboxLimit is the most events the plugin keeps.
const OutboxLimit = 100000

// MaxOutboxBatch is the largest batch Pull asks for.
const MaxOutboxBatch = 1000

// EventType is what happened to a user.
type EventType string

// The outbox's event types.
const (
	EventRegister EventType = "register" // user_register (wins over updates in the same request)
	EventUpdate   EventType = "update"   // profile_update, or a change of a mapped meta key
	EventDelete   EventType = "delete"   // delete_user: User is the user as it was
)

// OutboxStatus is the outbox's state (GET /wpbridge/v1/outbox).
type OutboxStatus struct {
	Enabled   bool
	MetaKeys  []string // meta keys recorded with each event
	UserID    int64    // the user that enabled it (wpbridge's): its changes are never recorded
	DBVersion string   // the table's version; empty before the first enable
	Pending   int64    // events not yet acknowledged
	Oldest    int64    // id of the oldest pending event, 0 when none
	Newest    int64    // id of the newest pending event, 0 when none
	Dropped   int64    // events dropped at the bound since the table was created
	Limit     int64    // the bound (OutboxLimit)
	Epoch     string   // new each time the table is created (see Event.Epoch)
}

// Event is one recorded change of a user. IDs grow: an event's ID is its
// cursor for Pull and its bound for Ack. Epoch and ID together name one event
// for good (deduplicate by both: the ids restart when the table is dropped and
// made again, and the epoch changes then).
type Event struct {
	ID     int64
	Epoch  string
	Type   EventType
	UserID int64
	Time   time.Time // when it was recorded (UTC, to the second)
	User   EventUser
}

// EventUser is the user an event carries: at the end of the request for
// register and update, as it was before deletion for delete. Never a password
// or a role.
type EventUser struct {
	Login, Email, FirstName, LastName, DisplayName, Nickname, URL, Description string
	// OldEmail is the email before this update, when the update changed it.
	OldEmail string
	// Meta holds the meta keys given to Enable the user has: string or []string.
	Meta map[string]any
}

// Field returns the user's core field named as WordPress names it
// (user_login, user_email, first_name, last_name, display_name, nickname,
// user_url, description), else the meta value of key as a string (a list's
// items joined by ", "); ok is false when the user has neither.
func (u EventUser) Field(key string) (v string, ok bool) {
	switch key {
	case "user_login":
		return u.Login, true
	case "user_email":
		return u.Email, true
	case "first_name":
		return u.FirstName, true
	case "last_name":
		return u.LastName, true
	case "display_name":
		return u.DisplayName, true
	case "nickname":
		return u.Nickname, true
	case "user_url":
		return u.URL, true
	case "description":
		return u.Description, true
	}
	switch m := u.Meta[key].(type) {
	case string:
		return m, true
	case []string:
		out := ""
		for i, s := range m {
			if i > 0 {
				out += ", "
			}
			out += s
		}
		return out, true
	}
	return "", false
}

type wireOutboxStatus struct {
	Enabled   bool     `json:"enabled"`
	MetaKeys  []string `json:"meta_keys"`
	User      int64    `json:"user"`
	DBVersion string   `json:"db_version"`
	Pending   int64    `json:"pending"`
	Oldest    int64    `json:"oldest"`
	Newest    int64    `json:"newest"`
	Dropped   int64    `json:"dropped"`
	Limit     int64    `json:"limit"`
	Epoch     string   `json:"epoch"`
}

func (w wireOutboxStatus) status() *OutboxStatus {
	return &OutboxStatus{Enabled: w.Enabled, MetaKeys: w.MetaKeys, UserID: w.User, DBVersion: w.DBVersion,
		Pending: w.Pending, Oldest: w.Oldest, Newest: w.Newest, Dropped: w.Dropped, Limit: w.Limit, Epoch: w.Epoch}
}

const outboxRoute = "/wpbridge/v1/outbox"

// Status returns the outbox's state. ErrPluginMissing with a plugin without
// the outbox.
func (s *OutboxService) Status(ctx context.Context) (*OutboxStatus, error) {
	return s.call(ctx, request{method: http.MethodGet, route: outboxRoute})
}

// Enable makes the plugin record events from now on, with the meta keys
// metaKeys (the FIELD_MAP meta keys wpbridge sends to AC, and the contact-id
// key) in each. Protected keys (capabilities, sessions, core fields, which
// every event carries anyway) are refused with ErrInvalid. The authenticated
// user becomes the one whose changes are not recorded. The table is created or
// upgraded as needed.
func (s *OutboxService) Enable(ctx context.Context, metaKeys []string) (*OutboxStatus, error) {
	if metaKeys == nil {
		metaKeys = []string{}
	}
	body := map[string]any{"enabled": true, "meta_keys": metaKeys}
	return s.call(ctx, request{method: http.MethodPost, route: outboxRoute, body: body})
}

// Disable stops recording. Events already recorded stay to be pulled, unless
// purge deletes them.
func (s *OutboxService) Disable(ctx context.Context, purge bool) (*OutboxStatus, error) {
	body := map[string]any{"enabled": false, "purge": purge}
	return s.call(ctx, request{method: http.MethodPost, route: outboxRoute, body: body})
}

// Drop disables the outbox and removes its table and settings (what
// uninstalling does for a normal plugin; a must-use plugin has no uninstall).
func (s *OutboxService) Drop(ctx context.Context) (*OutboxStatus, error) {
	return s.call(ctx, request{method: http.MethodDelete, route: outboxRoute})
}

func (s *OutboxService) call(ctx context.Context, r request) (*OutboxStatus, error) {
	var out wireOutboxStatus
	if _, err := s.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	if out.Limit <= 0 {
		return nil, &Error{Code: CodeInvalidResponse, Message: "outbox answer has no limit", Method: r.method, Path: r.route}
	}
	return out.status(), nil
}

type wireEvent struct {
	ID     int64           `json:"id"`
	Type   EventType       `json:"type"`
	UserID int64           `json:"user_id"`
	Time   string          `json:"time"`
	User   json.RawMessage `json:"user"`
}

type wireEventUser struct {
	Login       string         `json:"user_login"`
	Email       string         `json:"user_email"`
	FirstName   string         `json:"first_name"`
	LastName    string         `json:"last_name"`
	DisplayName string         `json:"display_name"`
	Nickname    string         `json:"nickname"`
	URL         string         `json:"user_url"`
	Description string         `json:"description"`
	OldEmail    string         `json:"old_email"`
	Meta        map[string]any `json:"meta"`
}

// Pull returns up to limit events (1..MaxOutboxBatch) with an ID above after,
// oldest first. Pulling does not remove them: Ack does.
func (s *OutboxService) Pull(ctx context.Context, after int64, limit int) ([]Event, error) {
	if after < 0 || limit < 1 || limit > MaxOutboxBatch {
		return nil, invalidf("outbox pull: after must be >= 0 and limit 1..%d", MaxOutboxBatch)
	}
	q := url.Values{"after": {strconv.FormatInt(after, 10)}, "limit": {strconv.Itoa(limit)}}
	r := request{method: http.MethodGet, route: outboxRoute + "/events", query: q}
	var out struct {
		Events []wireEvent `json:"events"`
		Epoch  string      `json:"epoch"`
	}
	if _, err := s.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	if len(out.Events) > 0 && out.Epoch == "" {
		return nil, &Error{Code: CodeInvalidResponse, Message: "outbox events come without the table's epoch", Method: r.method, Path: r.route}
	}
	events := make([]Event, 0, len(out.Events))
	for _, w := range out.Events {
		ev, ok := w.event()
		if !ok || ev.ID <= after {
			return nil, &Error{Code: CodeInvalidResponse, Message: "outbox event " + strconv.FormatInt(w.ID, 10) + " is malformed", Method: r.method, Path: r.route}
		}
		ev.Epoch = out.Epoch
		events = append(events, ev)
	}
	return events, nil
}

func (w wireEvent) event() (Event, bool) {
	ev := Event{ID: w.ID, Type: w.Type, UserID: w.UserID}
	switch w.Type {
	case EventRegister, EventUpdate, EventDelete:
	default:
		return ev, false
	}
	t, err := time.Parse(time.RFC3339, w.Time)
	if err != nil || w.ID <= 0 || w.UserID <= 0 {
		return ev, false
	}
	ev.Time = t
	var u wireEventUser
	if err := json.Unmarshal(w.User, &u); err != nil {
		return ev, false
	}
	ev.User = EventUser{Login: u.Login, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		DisplayName: u.DisplayName, Nickname: u.Nickname, URL: u.URL, Description: u.Description, OldEmail: u.OldEmail}
	ev.User.Meta = EventMeta(u.Meta)
	return ev, true
}

// EventMeta is an event's meta as decoded from JSON, typed as Event holds
// it: a string, or a list of strings (other values are left out).
func EventMeta(raw map[string]any) map[string]any {
	meta := make(map[string]any, len(raw))
	for k, v := range raw {
		switch v := v.(type) {
		case string:
			meta[k] = v
		case []any:
			list := make([]string, 0, len(v))
			for _, item := range v {
				if s, ok := item.(string); ok {
					list = append(list, s)
				}
			}
			meta[k] = list
		}
	}
	return meta
}

// Ack deletes the events with an ID up to upTo (those wpbridge has stored) and
// returns how many it deleted. Acknowledging again is harmless.
func (s *OutboxService) Ack(ctx context.Context, upTo int64) (int64, error) {
	if upTo < 0 {
		return 0, invalidf("outbox ack: up_to must be >= 0")
	}
	r := request{method: http.MethodPost, route: outboxRoute + "/ack", body: map[string]int64{"up_to": upTo}}
	var out struct {
		Deleted *int64 `json:"deleted"`
	}
	if _, err := s.c.do(ctx, r, &out); err != nil {
		return 0, err
	}
	if out.Deleted == nil {
		return 0, &Error{Code: CodeInvalidResponse, Message: "ack answer has no deleted count", Method: r.method, Path: r.route}
	}
	return *out.Deleted, nil
}
