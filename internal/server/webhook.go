package server

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

// requestError is an answer the request earned before anything was stored.
type requestError struct {
	status  int
	message string
}

func badRequest(format string, a ...any) *requestError {
	return &requestError{http.StatusBadRequest, fmt.Sprintf(format, a...)}
}

// handleRoot serves the WP Fusion compatible form /?wpf_action=ACTION.
func (s *Server) handleRoot(c *gin.Context) {
	form, rerr := readForm(c)
	if rerr == nil {
		if _, inQuery := c.Request.URL.Query()["wpf_action"]; !inQuery {
			if _, inBody := form["wpf_action"]; !inBody {
				rerr = &requestError{http.StatusNotFound, "not a webhook: add ?wpf_action=ACTION&access_key=KEY (or use /webhooks/activecampaign/ACTION)"}
			}
		}
	}
	s.webhook(c, form, param(c, form, "wpf_action"), rerr)
}

// handleClean serves /webhooks/activecampaign/ACTION.
func (s *Server) handleClean(c *gin.Context) {
	form, rerr := readForm(c)
	s.webhook(c, form, c.Param("action"), rerr)
}

// readForm reads the body (at most MaxBody) as a form. Only
// application/x-www-form-urlencoded bodies are accepted, as AC sends.
func readForm(c *gin.Context) (url.Values, *requestError) {
	r := c.Request
	r.Body = http.MaxBytesReader(c.Writer, r.Body, MaxBody)
	if ct := r.Header.Get("Content-Type"); ct != "" && r.ContentLength != 0 {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, &requestError{http.StatusUnsupportedMediaType,
				fmt.Sprintf("unsupported content type %q: send application/x-www-form-urlencoded, as ActiveCampaign does", ct)}
		}
	}
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &requestError{http.StatusRequestEntityTooLarge, "body larger than 1 MiB"}
		}
		return nil, badRequest("body is not a valid form: %v", err)
	}
	return r.PostForm, nil
}

// param returns a parameter from the query string, else from the body (PHP's
// $_REQUEST, which WP Fusion reads, merges both).
func param(c *gin.Context, form url.Values, name string) string {
	if v, ok := c.GetQuery(name); ok {
		return v
	}
	return form.Get(name)
}

var rolePattern = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// arriving tells the queue a webhook request is being received, from before
// its body is read until it is answered.
func (s *Server) arriving(c *gin.Context) {
	done := s.queue.Arriving()
	defer done()
	c.Next()
}

// webhook checks the key, parses the request, stores it and answers.
func (s *Server) webhook(c *gin.Context, form url.Values, action string, rerr *requestError) {
	start := time.Now()
	action = strings.ToLower(strings.TrimSpace(action))
	status := s.answerWebhook(c, form, action, rerr, start)
	label := action
	if _, ok := webhook.ParseAction(action); !ok && action != "test" {
		label = "invalid"
	}
	s.metrics.WebhooksReceived.WithLabelValues(label, fmt.Sprint(status)).Inc()
	s.metrics.AckSeconds.Observe(time.Since(start).Seconds())
}

func (s *Server) answerWebhook(c *gin.Context, form url.Values, action string, rerr *requestError, start time.Time) int {
	log := s.log.WithFields(logrus.Fields{"action": action, "client_ip": c.ClientIP()})
	// The key is checked first: nothing about the request is revealed to a
	// caller without it. A body error found before it still wins for 413,
	// and a request to / that is not a webhook at all gets 404 (as any
	// unknown path does), not "invalid access key".
	if rerr != nil && (rerr.status == http.StatusRequestEntityTooLarge || rerr.status == http.StatusNotFound) {
		return s.reject(c, log, rerr)
	}
	if !s.keyOK(param(c, form, "access_key")) {
		return s.reject(c, log, &requestError{http.StatusForbidden, "invalid access key"})
	}
	if rerr != nil {
		return s.reject(c, log, rerr)
	}
	if action == "test" {
		c.JSON(http.StatusOK, reply{Status: "ok", Message: "wpbridge is reachable and the access key is valid"})
		return http.StatusOK
	}
	w, rerr := parseWebhook(c, form, action)
	if rerr != nil {
		return s.reject(c, log, rerr)
	}
	log = log.WithField("contact_id", w.Request.ContactID)
	ctx := c.Request.Context()
	if rerr := s.checkReassign(ctx, log, w.Request.Reassign); rerr != nil {
		return s.reject(c, log, rerr)
	}
	out, err := s.queue.Submit(ctx, w)
	if errors.Is(err, webhook.ErrTooManyPending) {
		s.metrics.WebhooksRejected.WithLabelValues("max_pending").Inc()
		log.WithError(err).Warn("webhook refused: too many pending webhooks")
		c.JSON(http.StatusServiceUnavailable, reply{Status: "error",
			Message: "too many webhooks are waiting to be processed; nothing was stored: send it again later"})
		return http.StatusServiceUnavailable
	}
	if err != nil {
		log.WithError(err).Error("webhook not stored")
		c.JSON(http.StatusServiceUnavailable, reply{Status: "error", Message: "webhook could not be stored; nothing was acknowledged"})
		return http.StatusServiceUnavailable
	}
	async, _ := parseBool(param(c, form, "async")) // validated by parseWebhook
	if !out.Final() && !async && s.timeout > 0 {
		// On error the webhook is still stored: answer 202 with its id.
		if o, err := s.queue.Wait(ctx, out.WebhookID, s.timeout); err != nil {
			log.WithError(err).Warn("read webhook outcome")
		} else {
			out = o
		}
	}
	code, rep := answer(out)
	c.JSON(code, rep)
	log.WithFields(logrus.Fields{
		"webhook_id": out.WebhookID, "status": rep.Status, "user_id": out.UserID,
		"duration_ms": time.Since(start).Milliseconds(),
	}).Info("webhook received")
	return code
}

// answer maps a stored webhook's outcome to the HTTP answer.
func answer(o webhook.Outcome) (int, reply) {
	r := reply{Status: o.State, Message: o.Message, WebhookID: o.WebhookID, UserID: o.UserID}
	switch o.State {
	case webhook.StateDone, webhook.StateIgnored:
		return http.StatusOK, r
	case webhook.StateFailed:
		r.Message = fmt.Sprintf("%s (%s)", o.Message, webhook.ReplayHint(o.WebhookID))
		return http.StatusUnprocessableEntity, r
	}
	r.Status, r.Message = "queued", "stored; it will be processed (and retried if needed)"
	return http.StatusAccepted, r
}

func (s *Server) reject(c *gin.Context, log logrus.FieldLogger, e *requestError) int {
	log.WithFields(logrus.Fields{"status": e.status, "reason": e.message}).Warn("webhook rejected")
	c.JSON(e.status, reply{Status: "error", Message: e.message})
	return e.status
}

// parseWebhook turns a request into a stored webhook, or says what is wrong.
func parseWebhook(c *gin.Context, form url.Values, action string) (webhook.Webhook, *requestError) {
	a, ok := webhook.ParseAction(action)
	if !ok {
		if action == "" {
			return webhook.Webhook{}, badRequest("no action: use wpf_action=add, update, update_tags, password_reset, remove_access or test")
		}
		return webhook.Webhook{}, badRequest("unknown action %q: use add, update, update_tags, password_reset, remove_access or test", activecampaign.Truncate(action, 40))
	}
	hook, err := activecampaign.ParseWebhook(form)
	if err != nil {
		return webhook.Webhook{}, badRequest("%v", err)
	}
	id := hook.ContactID
	if id == "" {
		id = c.Query("contact_id")
		if id != "" && !activecampaign.ValidID(id) {
			return webhook.Webhook{}, badRequest("contact_id must be a decimal number")
		}
	}
	if id == "" {
		return webhook.Webhook{}, badRequest("no contact id: ActiveCampaign sends contact[id]; for a manual test add &contact_id=123")
	}
	if activecampaign.CheckText(c.Request.URL.Query()) != nil {
		return webhook.Webhook{}, badRequest("query string: a key or value is not valid UTF-8 or contains NUL")
	}
	email := hook.Email
	if email == "" {
		email = c.Query("email")
		if err := activecampaign.CheckEmail("email", email); err != nil {
			return webhook.Webhook{}, badRequest("%v", err)
		}
	}
	role := strings.ToLower(strings.TrimSpace(param(c, form, "role")))
	if role != "" && !rolePattern.MatchString(role) {
		return webhook.Webhook{}, badRequest("role must be a role slug of letters, digits, _ and -")
	}
	notify, err := parseBool(param(c, form, "send_notification"))
	if err != nil {
		return webhook.Webhook{}, badRequest("send_notification: %v", err)
	}
	async, err := parseBool(param(c, form, "async"))
	if err != nil {
		return webhook.Webhook{}, badRequest("async: %v", err)
	}
	del, reassign, rerr := removeOptions(c, form, a)
	if rerr != nil {
		return webhook.Webhook{}, rerr
	}
	return webhook.Webhook{
		ReceivedAt: time.Now(),
		Async:      async,
		Request: contactsync.Request{
			ContactID: id, Action: a, Role: role, SendNotification: notify,
			Tags: hook.Tags, HasTags: hook.HasTags, EmailHint: email,
			Delete: del, Reassign: reassign,
		},
		EventType:     hook.Type,
		InitiatedFrom: hook.InitiatedFrom,
	}, nil
}

// removeOptions reads remove_access's delete= and reassign= (an email; that
// a WordPress user has it is checked when the webhook runs, which fails for
// good when none does). Other actions take neither.
func removeOptions(c *gin.Context, form url.Values, a contactsync.Action) (bool, string, *requestError) {
	del, err := parseBool(param(c, form, "delete"))
	if err != nil {
		return false, "", badRequest("delete: %v", err)
	}
	reassign := strings.TrimSpace(param(c, form, "reassign"))
	if a != contactsync.ActionRemoveAccess {
		if del || reassign != "" {
			return false, "", badRequest("delete and reassign are options of remove_access only")
		}
		return false, "", nil
	}
	if reassign != "" && !del {
		return false, "", badRequest("reassign needs delete=true")
	}
	if reassign != "" && (!strings.Contains(reassign, "@") || activecampaign.CheckEmail("reassign", reassign) != nil) {
		return false, "", badRequest("reassign must be the email of an existing WordPress user")
	}
	return del, reassign, nil
}

// checkReassign answers 400 when no WordPress user has the reassign= email.
// When WordPress cannot tell now, the webhook is stored anyway: its round
// checks again and fails it for good if there is still no such user.
func (s *Server) checkReassign(ctx context.Context, log logrus.FieldLogger, email string) *requestError {
	if email == "" || s.exists == nil {
		return nil
	}
	ok, err := s.exists(ctx, email)
	if err != nil {
		log.WithError(err).Warn("reassign user not checked: WordPress did not answer, the round checks it")
		return nil
	}
	if !ok {
		return badRequest("reassign: no WordPress user has that email")
	}
	return nil
}

// parseBool reads WP Fusion's flag values: "", false, 0, no, off are false.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "false", "0", "no", "off":
		return false, nil
	case "true", "1", "yes", "on":
		return true, nil
	}
	return false, fmt.Errorf("%q is not true or false", activecampaign.Truncate(s, 20))
}
