package adapters

import (
	"errors"
	"time"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/queue"
	"github.com/wpbridge/wpbridge/wordpress"
)

// Classify maps an error from a round of work to how the queue handles it.
func Classify(err error) (queue.Class, time.Duration, string) {
	var acErr *activecampaign.Error
	if errors.As(err, &acErr) {
		switch {
		case errors.Is(acErr, activecampaign.ErrUnauthorized):
			return queue.AuthFailed, 0, "ActiveCampaign (AC_API_KEY)"
		case errors.Is(acErr, activecampaign.ErrRateLimited):
			return queue.Throttled, max(acErr.RetryAfter, time.Second), ""
		case acErr.Temporary():
			return queue.Temporary, 0, ""
		case acErr.StatusCode >= 400 && acErr.StatusCode < 500:
			return queue.Permanent, 0, ""
		}
		return queue.Temporary, 0, ""
	}
	var wpErr *wordpress.Error
	if errors.As(err, &wpErr) {
		switch {
		case errors.Is(wpErr, wordpress.ErrUnauthorized):
			return queue.AuthFailed, 0, "WordPress (WP_USERNAME / WP_APP_PASSWORD)"
		case errors.Is(wpErr, wordpress.ErrPluginMissing):
			return queue.AuthFailed, 0, "WordPress (companion plugin wpbridge.php missing)"
		case wpErr.StatusCode == 429:
			return queue.Throttled, 5 * time.Second, ""
		case wpErr.Temporary():
			return queue.Temporary, 0, ""
		case wpErr.StatusCode >= 400 && wpErr.StatusCode < 500:
			return queue.Permanent, 0, ""
		}
	}
	// Arguments the clients refused before sending anything: a retry sends
	// the same arguments again.
	if errors.Is(err, activecampaign.ErrInvalidArgument) || errors.Is(err, wordpress.ErrInvalid) {
		return queue.Permanent, 0, ""
	}
	return queue.Temporary, 0, ""
}
