package admin

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
)

type apiError struct {
	Error string `json:"error"`
}

type apiList struct {
	Webhooks []Webhook `json:"webhooks"`
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
	if list == nil {
		list = []Webhook{}
	}
	c.JSON(http.StatusOK, apiList{Webhooks: list})
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
	c.JSON(http.StatusOK, d)
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
	c.JSON(http.StatusOK, d)
}
