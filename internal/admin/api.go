package admin

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/wpbridge/wpbridge/internal/history"
)

type apiError struct {
	Error string `json:"error"`
}

type apiList struct {
	Webhooks []history.ListJSON `json:"webhooks"`
}

// apiStoreError maps a History error to 404, 409 or 500.
func (a *Handler) apiStoreError(c *gin.Context, err error) {
	switch {
	case errors.Is(err, history.ErrNotFound):
		c.JSON(http.StatusNotFound, apiError{Error: "no such webhook"})
	case errors.Is(err, history.ErrNotFailed):
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
	out := apiList{Webhooks: make([]history.ListJSON, 0, len(list))}
	for _, w := range list {
		out.Webhooks = append(out.Webhooks, history.NewListJSON(w))
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
	c.JSON(http.StatusOK, history.NewShowJSON(d))
}

func (a *Handler) apiRetry(c *gin.Context) {
	id, ok := a.pathID(c, true)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	if _, err := a.history.Retry(ctx, id); err != nil {
		a.apiStoreError(c, err)
		return
	}
	a.log.WithField("webhook_id", id).Info("webhook retried through the admin api")
	d, err := a.history.Get(ctx, id)
	if err != nil {
		a.apiStoreError(c, err)
		return
	}
	c.JSON(http.StatusOK, history.NewShowJSON(d))
}
