package app

import (
	"context"
	"errors"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/adapters"
	"github.com/wpbridge/wpbridge/internal/maintenance"
	"github.com/wpbridge/wpbridge/internal/outbox"
	"github.com/wpbridge/wpbridge/wordpress"
)

// outboxLock is the name of the lock the replicas take to pull the outbox:
// one pulls at a time (a second one would store the same events, skipped by
// their keys, for nothing).
const outboxLock = "wpbridge:outbox-pull"

// toAC is the round of WordPress events (SYNC_TO_AC).
func (a *App) toAC(ac *activecampaign.Client, wp *wordpress.Client) *outbox.Round {
	return &outbox.Round{
		Mapper: &outbox.Mapper{FieldMap: a.cfg.FieldMap, RegistrationTags: a.cfg.RegistrationTags,
			ContactIDMetaKey: a.cfg.ContactIDMetaKey, Fields: ac.Fields},
		AC:     outbox.NewAC(ac),
		Users:  &adapters.Users{WP: wp},
		Echoes: outbox.StoreEchoes{Echoes: a.db.Echoes},
	}
}

// outboxService is the puller of the plugin's outbox, run every
// OUTBOX_POLL: with SYNC_TO_AC it enables the outbox (until that succeeds)
// and drains it into the queue; without, it disables recording once at
// start.
func (a *App) outboxService(wp *wordpress.Client) maintenance.Service {
	log := a.log.WithField("component", "outbox")
	if !a.cfg.SyncToAC {
		return &maintenance.Periodic{Interval: time.Hour, AtStart: true, Run: func(ctx context.Context) {
			a.disableOutbox(ctx, wp, log)
		}}
	}
	p := &outbox.Puller{Source: wp.Outbox, Store: &outbox.QueueStore{DB: a.db, ContactIDMetaKey: a.cfg.ContactIDMetaKey}}
	enabled := false
	return &maintenance.Periodic{Interval: a.cfg.OutboxPoll, AtStart: true, Run: func(ctx context.Context) {
		unlock, ok, err := a.Queue.Exclusive(ctx, outboxLock)
		if err != nil || !ok {
			return // another replica pulls (or the database is away: next tick)
		}
		defer unlock()
		if !enabled {
			st, err := wp.Outbox.Enable(ctx, a.cfg.OutboxMetaKeys())
			if err != nil {
				log.WithError(err).Warn("outbox: cannot enable the companion plugin's outbox; trying again")
				return
			}
			enabled = true
			log.WithFields(logrus.Fields{"pending": st.Pending, "dropped": st.Dropped}).Info("outbox enabled: WordPress sign-ups and profile edits go to ActiveCampaign")
		}
		if n, err := p.Drain(ctx); err != nil && ctx.Err() == nil {
			log.WithError(err).WithField("stored", n).Warn("outbox: pull from WordPress failed; trying again")
		} else if n > 0 {
			log.WithField("count", n).Debug("outbox: events stored")
		}
	}}
}

// disableOutbox stops the plugin recording events (SYNC_TO_AC off). A plugin
// without an outbox is fine.
func (a *App) disableOutbox(ctx context.Context, wp *wordpress.Client, log logrus.FieldLogger) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := wp.Outbox.Status(ctx)
	switch {
	case errors.Is(err, wordpress.ErrPluginMissing):
		return
	case err != nil:
		log.WithError(err).Warn("outbox: cannot read the companion plugin's outbox")
		return
	case !st.Enabled:
		return
	}
	if _, err := wp.Outbox.Disable(ctx, false); err != nil {
		log.WithError(err).Warn("outbox: cannot disable the companion plugin's outbox")
		return
	}
	log.WithField("pending", st.Pending).Info("outbox disabled (SYNC_TO_AC=false): WordPress changes are no longer recorded")
}
