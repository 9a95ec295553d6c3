package webhook

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Webhook states. A claimed webhook (taken by a running round) reads as
// pending.
const (
	StatePending = "pending" // stored, waiting for a round of work
	StateDone    = "done"
	StateIgnored = "ignored"
	StateFailed  = "failed"
)

// Sources of stored webhooks.
const (
	SourceWebhook = "webhook" // an HTTP call from ActiveCampaign
	SourceImport  = "import"  // wpbridge import
	// SourceWordPress is an event of the companion plugin's outbox
	// (SYNC_TO_AC): a sign-up, profile edit or deletion to send to AC.
	SourceWordPress = "wordpress"
)

var (
	// ErrTooManyPending is what storing a webhook fails with when
	// MAX_PENDING webhooks are already pending: nothing was stored.
	ErrTooManyPending = errors.New("too many pending webhooks")
	// ErrNotFound is returned for a webhook id that is not stored (never
	// was, or was deleted after HISTORY_RETENTION).
	ErrNotFound = errors.New("no such webhook")
)

// Webhook is one accepted webhook, as stored.
type Webhook struct {
	ID         int64
	ReceivedAt time.Time
	Source     string // SourceWebhook (when empty), SourceImport or SourceWordPress
	// EventKey names an outbox event for good (outbox.Key: epoch:id); a
	// webhook with one is stored at most once (SourceWordPress).
	EventKey      string
	Async         bool // the caller asked for async=true
	Request       Request
	EventType     string // AC "type" (empty for automation webhooks)
	InitiatedFrom string // AC "initiated_from"
}

// Outcome is where a stored webhook stands.
type Outcome struct {
	WebhookID int64
	State     string // pending (also while claimed), done, ignored, failed
	Message   string
	UserID    int64
}

// Final reports whether the webhook is finished for good.
func (o Outcome) Final() bool {
	return o.State == StateDone || o.State == StateIgnored || o.State == StateFailed
}

// Claimed is the set of webhooks one round of work covers, and the request
// they merge into.
type Claimed struct {
	IDs     []int64
	Request Request
}

// Record is one stored webhook as the history shows it.
type Record struct {
	ID         int64
	ReceivedAt time.Time
	Source     string // SourceWebhook, SourceImport or SourceWordPress
	Async      bool
	Request    Request // action, contact, role, send_notification, payload email and tags
	State      string  // pending (also while a round runs), done, ignored, failed
	Attempts   int     // rounds that ran to an outcome or a temporary failure
	Error      string  // last error (none once done or ignored)
	Message    string  // result
	UserID     int64
	RetryFrom  time.Time // start of the retry horizon: arrival or last manual retry
	FinishedAt time.Time // zero while pending
}

// ReplayHint tells an operator how to replay the failed webhooks ids.
func ReplayHint(ids ...int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return "replay with: wpbridge webhooks retry " + strings.Join(s, " ")
}
