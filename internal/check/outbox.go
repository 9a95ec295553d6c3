package check

import (
	"context"
	"errors"

	"github.com/wpbridge/wpbridge/internal/config"
	"github.com/wpbridge/wpbridge/wordpress"
)

// outbox reports the companion plugin's outbox when SYNC_TO_AC is on: that
// the plugin has one, how many events wait, and how many were dropped at its
// bound (sign-ups or edits that never reached AC).
func (r *results) outbox(ctx context.Context, cfg *config.Config, wp *wordpress.Client) {
	if !cfg.SyncToAC {
		return
	}
	const what = "WordPress outbox (SYNC_TO_AC)"
	st, err := wp.Outbox.Status(ctx)
	switch {
	case errors.Is(err, wordpress.ErrPluginMissing):
		r.add(false, what, "the companion plugin on %s has no outbox: copy wordpress/plugin/wpbridge.php over the one in wp-content/mu-plugins/", cfg.WPURL)
	case err != nil:
		r.add(false, what, "cannot read its status: %v", err)
	case st.Dropped > 0:
		r.add(false, what, "%d events were dropped at the bound of %d (wpbridge did not pull them in time): those sign-ups or edits never reached AC; "+
			"`wpbridge import --from-wordpress` syncs every user again", st.Dropped, st.Limit)
	case !st.Enabled:
		r.add(true, what, "ready; wpbridge turns recording on when it starts (%d events pending)", st.Pending)
	default:
		r.add(true, what, "recording, %d events pending, none dropped", st.Pending)
	}
}
