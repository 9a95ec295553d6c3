package admin

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

type apiError struct {
	Error string `json:"error"`
}

type apiList struct {
	Webhooks []listItem `json:"webhooks"`
}

// listItem is a webhook as `wpbridge webhooks list --json` prints it.
type listItem struct {
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

// showItem is a webhook as `wpbridge webhooks show --json` prints it.
type showItem struct {
	listItem
	Role             string   `json:"role"`
	SendNotification bool     `json:"send_notification"`
	Async            bool     `json:"async"`
	Email            string   `json:"email"`
	Tags             []string `json:"tags"` // null when the payload had no tags field
	Message          string   `json:"message"`
	RetryFrom        string   `json:"retry_from"`
	FinishedAt       string   `json:"finished_at,omitempty"`
}

func newListItem(w Webhook) listItem {
	return listItem{
		ID: w.ID, ReceivedAt: timeOut(w.ReceivedAt), Source: w.Source, Action: w.Action, ContactID: w.ContactID,
		State: w.State, Attempts: w.Attempts, Error: w.Error, UserID: w.UserID,
	}
}

func newShowItem(d *Detail) showItem {
	it := showItem{
		listItem: newListItem(d.Webhook), Role: d.Role, SendNotification: d.SendNotification, Async: d.Async,
		Email: d.Email, Message: d.Message, RetryFrom: timeOut(d.RetryFrom), FinishedAt: timeOut(d.FinishedAt),
	}
	if d.HasTags {
		it.Tags = append([]string{}, d.Tags...)
	}
	return it
}

// timeOut formats a time as the commands print it: RFC 3339 in UTC.
func timeOut(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// apiStoreError maps a History error to 404, 409 or 500.
func (a *Handler) apiStoreError(c *gin.Context, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		c.JSON(http.StatusNotFound, apiError{Error: "no such webhook"})
	case errors.Is(err, ErrNotFailed):
		c.JSON(http.StatusConflict, apiError{Error: "webhook is not failed"})
	default:
		a.log.WithError(err).Error("admin: read webhook history")
		c.JSON(http.StatusInternalServerError, apiError{Error: "webhook history could not be read"})
	}
}

func (a *Handler) apiList(c *gin.Context) {
	f, err := parseFilter(c)
	if err != nil {
		c.JSON(http.StatusBadRequest, apiError{Error: err.Error()})
		return
	}
	list, err := a.history.List(c.Request.Context(), f)
	if err != nil {
		a.apiStoreError(c, err)
		return
	}
	out := apiList{Webhooks: make([]listItem, 0, len(list))}
	for _, w := range list {
		out.Webhooks = append(out.Webhooks, newListItem(w))
	}
	c.JSON(http.StatusOK, out)
}

func (a *Handler) apiGet(c *gin.Context) {
	id, ok := a.pathID(c, true)
	if !ok {
		return
	}
	d, err := a.history.Get(c.Request.Context(), id)
	if err != nil {
		a.apiStoreError(c, err)
		return
	}
	c.JSON(http.StatusOK, newShowItem(d))
}

func (a *Handler) apiRetry(c *gin.Context) {
	id, ok := a.pathID(c, true)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	if err := a.history.Retry(ctx, id); err != nil {
		a.apiStoreError(c, err)
		return
	}
	a.log.WithField("webhook_id", id).Info("webhook retried through the admin api")
	d, err := a.history.Get(ctx, id)
	if err != nil {
		a.apiStoreError(c, err)
		return
	}
	c.JSON(http.StatusOK, newShowItem(d))
}
