package adapters

import (
	"errors"
	"time"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/webhook"
	"github.com/wpbridge/wpbridge/wordpress"
)

var (
	temporary = webhook.Verdict{Class: webhook.Temporary}
	permanent = webhook.Verdict{Class: webhook.Permanent}
)

// Classify maps an error from a round of work to how the queue handles it.
// The rules mark what no retry can fix with contactsync.ErrPermanent; the
// clients' errors are judged by status.
func Classify(err error) webhook.Verdict {
	if errors.Is(err, contactsync.ErrPermanent) {
		return permanent
	}
	var acErr *activecampaign.Error
	if errors.As(err, &acErr) {
		switch {
		case errors.Is(acErr, activecampaign.ErrUnauthorized):
			return webhook.Verdict{Class: webhook.AuthFailed, Reason: "ActiveCampaign (AC_API_KEY)"}
		case errors.Is(acErr, activecampaign.ErrRateLimited):
			return webhook.Verdict{Class: webhook.Throttled, Wait: max(acErr.RetryAfter, time.Second)}
		case acErr.Temporary():
			return temporary
		case acErr.StatusCode >= 400 && acErr.StatusCode < 500:
			return permanent
		}
		return temporary
	}
	var wpErr *wordpress.Error
	if errors.As(err, &wpErr) {
		switch {
		case errors.Is(wpErr, wordpress.ErrUnauthorized):
			return webhook.Verdict{Class: webhook.AuthFailed, Reason: "WordPress (WP_USERNAME / WP_APP_PASSWORD)"}
		case errors.Is(wpErr, wordpress.ErrPluginMissing):
			return webhook.Verdict{Class: webhook.AuthFailed, Reason: "WordPress (companion plugin wpbridge.php missing or older than 1.1)"}
		case wpErr.StatusCode == 429:
			return webhook.Verdict{Class: webhook.Throttled, Wait: 5 * time.Second}
		case wpErr.Temporary():
			return temporary
		case wpErr.StatusCode >= 400 && wpErr.StatusCode < 500:
			return permanent
		}
	}
	// Arguments the clients refused before sending anything: a retry sends
	// the same arguments again.
	if errors.Is(err, activecampaign.ErrInvalidArgument) || errors.Is(err, wordpress.ErrInvalid) {
		return permanent
	}
	return temporary
}
