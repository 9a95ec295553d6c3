package maintenance

import (
	"context"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/internal/store"
)

// cleanInterval is how often the cleaner runs.
const cleanInterval = time.Hour

// NewCleaner is the service that deletes, at start and then hourly, finished
// webhooks older than retention, passwords no round needs any more
// (Webhooks.Finish drops them already; this is the backstop) and expired
// records of wpbridge's AC writes. now is the clock of the retention.
func NewCleaner(db *store.DB, retention time.Duration, now func() time.Time, log logrus.FieldLogger) *Periodic {
	return &Periodic{Interval: cleanInterval, AtStart: true, Run: func(ctx context.Context) {
		for _, err := range []error{
			db.Webhooks.DeleteFinished(ctx, now().Add(-retention)),
			db.Passwords.DeleteUnneeded(ctx),
			db.Echoes.DeleteExpired(ctx),
		} {
			if err != nil && ctx.Err() == nil {
				log.WithError(err).Warn("clean old records")
			}
		}
	}}
}
