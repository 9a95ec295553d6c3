package admin

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wpbridge/wpbridge/internal/history"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/admin.css
var adminCSS []byte

// pages are the parsed templates, one per page, each with the layout.
type pages map[string]*template.Template

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"join": strings.Join,
}

func parsePages() (pages, error) {
	p := pages{}
	for _, name := range []string{"signin", "list", "detail", "error"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("admin: parse %s page: %w", name, err)
		}
		p[name] = t
	}
	return p, nil
}

// view is what every page template receives.
type view struct {
	Title    string
	SignedIn bool
	CSRF     string
	River    bool
	Data     any
}

func (a *Handler) render(c *gin.Context, status int, name string, v view) {
	if s := c.GetString(sessionCookie); s != "" {
		v.SignedIn, v.CSRF, v.River = true, a.keys.csrfFor(s), a.river != nil
	}
	var buf bytes.Buffer
	if err := a.pages[name].Execute(&buf, v); err != nil {
		a.log.WithError(err).WithField("page", name).Error("render admin page")
		c.String(http.StatusInternalServerError, "internal error")
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

type signinData struct {
	Message string
}

func (a *Handler) renderSignIn(c *gin.Context, status int, msg string) {
	a.render(c, status, "signin", view{Title: "Sign in", CSRF: a.signinCSRF(c), Data: signinData{Message: msg}})
}

func (a *Handler) renderError(c *gin.Context, status int, msg string) {
	a.render(c, status, "error", view{Title: http.StatusText(status), Data: struct {
		Status  int
		Message string
	}{status, msg}})
}

func (a *Handler) handleCSS(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=3600")
	c.Data(http.StatusOK, "text/css; charset=utf-8", adminCSS)
}

// stateCount is one box of the counts row.
type stateCount struct {
	State    string
	Count    int
	Selected bool
}

type listData struct {
	Counts   []stateCount
	Total    int
	Filter   history.Filter
	States   []string
	Webhooks []history.Webhook
}

func (a *Handler) handleList(c *gin.Context) {
	f, err := parseFilter(c)
	if err != nil {
		a.renderError(c, http.StatusBadRequest, err.Error())
		return
	}
	ctx := c.Request.Context()
	counts, err := a.history.Counts(ctx)
	if err != nil {
		a.storeError(c, err)
		return
	}
	list, err := a.history.List(ctx, f)
	if err != nil {
		a.storeError(c, err)
		return
	}
	d := listData{Filter: f, States: history.States, Webhooks: list}
	for _, s := range history.States {
		d.Counts = append(d.Counts, stateCount{State: s, Count: counts[s], Selected: s == f.State})
		d.Total += counts[s]
	}
	a.render(c, http.StatusOK, "list", view{Title: "Webhooks", Data: d})
}

type detailData struct {
	*history.Detail
	ProfileURL string
}

func (a *Handler) handleDetail(c *gin.Context) {
	id, ok := a.pathID(c, false)
	if !ok {
		return
	}
	d, err := a.history.Get(c.Request.Context(), id)
	if err != nil {
		a.storeError(c, err)
		return
	}
	a.render(c, http.StatusOK, "detail", view{Title: fmt.Sprintf("Webhook %d", d.ID), Data: detailData{Detail: d, ProfileURL: a.profileURL(d.UserID)}})
}

func (a *Handler) handleRetry(c *gin.Context) {
	id, ok := a.pathID(c, false)
	if !ok {
		return
	}
	if _, err := a.history.Retry(c.Request.Context(), id); err != nil {
		a.storeError(c, err)
		return
	}
	a.log.WithField("webhook_id", id).Info("webhook retried from the admin page")
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/admin/webhooks/%d", id))
}

// profileURL links a WordPress user's profile in wp-admin.
func (a *Handler) profileURL(userID int64) string {
	if userID <= 0 || a.wpURL == "" {
		return ""
	}
	return a.wpURL + "/wp-admin/user-edit.php?user_id=" + strconv.FormatInt(userID, 10)
}

// storeError answers a History error with a page: 404, 409 or 500.
func (a *Handler) storeError(c *gin.Context, err error) {
	switch {
	case errors.Is(err, history.ErrNotFound):
		a.renderError(c, http.StatusNotFound, "No such webhook.")
	case errors.Is(err, history.ErrNotFailed):
		a.renderError(c, http.StatusConflict, "Only failed webhooks can be retried; this one is not failed (any more).")
	default:
		a.log.WithError(err).Error("admin: read webhook history")
		a.renderError(c, http.StatusInternalServerError, "The webhook history could not be read. See the server log.")
	}
}

// pathID parses the :id path parameter; on error it answers 404.
func (a *Handler) pathID(c *gin.Context, api bool) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err == nil && id > 0 {
		return id, true
	}
	if api {
		c.JSON(http.StatusNotFound, apiError{Error: "no such webhook"})
	} else {
		a.renderError(c, http.StatusNotFound, "No such webhook.")
	}
	return 0, false
}

// parseFilter reads state, contact and limit from the query string.
func parseFilter(c *gin.Context) (history.Filter, error) {
	f := history.Filter{State: strings.TrimSpace(c.Query("state")), ContactID: strings.TrimSpace(c.Query("contact")), Limit: DefaultLimit}
	if f.State != "" && !slices.Contains(history.States, f.State) {
		return f, fmt.Errorf("state must be one of %s", strings.Join(history.States, ", "))
	}
	if len(f.ContactID) > 64 {
		return f, errors.New("contact id too long")
	}
	if s := strings.TrimSpace(c.Query("limit")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return f, fmt.Errorf("limit must be a whole number from 1 to %d", MaxLimit)
		}
		f.Limit = n
	}
	return f, nil
}
