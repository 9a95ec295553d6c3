package outbox

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/wordpress"
)

// wireEvent is an event as wpbridge stores it (webhook.Request.Event).
type wireEvent struct {
	ID     int64               `json:"id"`
	Epoch  string              `json:"epoch"`
	Type   wordpress.EventType `json:"type"`
	UserID int64               `json:"user_id"`
	Time   time.Time           `json:"time"`
	User   wireUser            `json:"user"`
}

type wireUser struct {
	Login       string         `json:"login,omitempty"`
	Email       string         `json:"email,omitempty"`
	FirstName   string         `json:"first_name,omitempty"`
	LastName    string         `json:"last_name,omitempty"`
	DisplayName string         `json:"display_name,omitempty"`
	Nickname    string         `json:"nickname,omitempty"`
	URL         string         `json:"url,omitempty"`
	Description string         `json:"description,omitempty"`
	OldEmail    string         `json:"old_email,omitempty"`
	Meta        map[string]any `json:"meta,omitempty"`
}

// EncodeEvent returns ev as wpbridge stores it.
func EncodeEvent(ev wordpress.Event) ([]byte, error) {
	u := ev.User
	b, err := json.Marshal(wireEvent{ID: ev.ID, Epoch: ev.Epoch, Type: ev.Type, UserID: ev.UserID, Time: ev.Time,
		User: wireUser{Login: u.Login, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
			DisplayName: u.DisplayName, Nickname: u.Nickname, URL: u.URL, Description: u.Description,
			OldEmail: u.OldEmail, Meta: u.Meta}})
	if err != nil {
		return nil, fmt.Errorf("outbox: encode event %d: %w", ev.ID, err)
	}
	return b, nil
}

// DecodeEvent reads an event EncodeEvent wrote. Meta values are strings or
// []string, as the plugin gave them.
func DecodeEvent(b []byte) (wordpress.Event, error) {
	var w wireEvent
	if err := json.Unmarshal(b, &w); err != nil {
		return wordpress.Event{}, fmt.Errorf("outbox: decode stored event: %w", err)
	}
	u := w.User
	ev := wordpress.Event{ID: w.ID, Epoch: w.Epoch, Type: w.Type, UserID: w.UserID, Time: w.Time,
		User: wordpress.EventUser{Login: u.Login, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
			DisplayName: u.DisplayName, Nickname: u.Nickname, URL: u.URL, Description: u.Description, OldEmail: u.OldEmail}}
	if len(u.Meta) > 0 {
		ev.User.Meta = wordpress.EventMeta(u.Meta)
	}
	return ev, nil
}

// ContactKey is the queue's contact key of ev, which orders its round with
// the others of that contact: the AC contact id the user carries in
// contactIDMetaKey, else "wp-user:ID".
func ContactKey(ev wordpress.Event, contactIDMetaKey string) string {
	if contactIDMetaKey != "" {
		if id, ok := ev.User.Field(contactIDMetaKey); ok && activecampaign.ValidID(id) {
			return id
		}
	}
	return "wp-user:" + strconv.FormatInt(ev.UserID, 10)
}
