package history

import "time"

// ListJSON is a webhook as the contract shows it in `wpbridge webhooks list
// --json` and /admin/api/webhooks (the one definition of that shape).
type ListJSON struct {
	ID         int64  `json:"id"`
	ReceivedAt string `json:"received_at"`
	Source     string `json:"source"`
	Action     string `json:"action"`
	ContactID  string `json:"contact_id"`
	State      string `json:"state"`
	Attempts   int    `json:"attempts"`
	Error      string `json:"error,omitempty"`
	UserID     int64  `json:"user_id,omitempty"`
}

// ShowJSON is one webhook with its parameters, as `wpbridge webhooks show
// --json` and /admin/api/webhooks/ID show it.
type ShowJSON struct {
	ListJSON
	Role             string   `json:"role"`
	SendNotification bool     `json:"send_notification"`
	Async            bool     `json:"async"`
	Email            string   `json:"email"`
	Tags             []string `json:"tags"`               // null when the payload had no tags field
	Delete           bool     `json:"delete,omitempty"`   // remove_access only
	Reassign         string   `json:"reassign,omitempty"` // remove_access only
	Message          string   `json:"message"`
	RetryFrom        string   `json:"retry_from"`
	FinishedAt       string   `json:"finished_at,omitempty"`
}

// NewListJSON is w in the contract's list shape.
func NewListJSON(w Webhook) ListJSON {
	return ListJSON{
		ID: w.ID, ReceivedAt: TimeOut(w.ReceivedAt), Source: w.Source, Action: w.Action, ContactID: w.ContactID,
		State: w.State, Attempts: w.Attempts, Error: w.Error, UserID: w.UserID,
	}
}

// NewShowJSON is d in the contract's show shape.
func NewShowJSON(d *Detail) ShowJSON {
	it := ShowJSON{
		ListJSON: NewListJSON(d.Webhook), Role: d.Role, SendNotification: d.SendNotification, Async: d.Async,
		Email: d.Email, Delete: d.Delete, Reassign: d.Reassign, Message: d.Message,
		RetryFrom: TimeOut(d.RetryFrom), FinishedAt: TimeOut(d.FinishedAt),
	}
	if d.HasTags {
		it.Tags = append([]string{}, d.Tags...)
	}
	return it
}

// TimeOut formats a time as the commands and the API print it: RFC 3339 in
// UTC, "" for the zero time.
func TimeOut(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
