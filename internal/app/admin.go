package app

import (
	"fmt"

	"github.com/riverqueue/river"
	"github.com/sirupsen/logrus"
	"riverqueue.com/riverui"

	"github.com/wpbridge/wpbridge/internal/admin"
	"github.com/wpbridge/wpbridge/internal/riverlog"
	"github.com/wpbridge/wpbridge/internal/server"
	"github.com/wpbridge/wpbridge/internal/store"
)

// riverUIPrefix is where River UI is mounted, behind the admin sign-in.
const riverUIPrefix = "/admin/river"

// adminHandler builds the admin page when ADMIN_TOKEN is set (nil, nil
// otherwise: /admin/ answers 404), with River UI under /admin/river/.
func (a *App) adminHandler(h admin.History) (server.Admin, error) {
	token := a.cfg.AdminToken.Reveal()
	if token == "" {
		return nil, nil
	}
	log := a.log.WithField("component", "admin")
	ui, err := newRiverUI(a.db, log)
	if err != nil {
		return nil, err
	}
	a.riverUI = ui
	opts := admin.Options{Token: token, WPURL: a.cfg.WPURL, TrustedProxies: a.cfg.TrustedProxies, River: ui}
	adm, err := admin.New(opts, h, log)
	if err != nil {
		return nil, err
	}
	return adm, nil
}

// newRiverUI builds River UI on its own insert-only River client (the
// queue's client works the jobs; this one only reads and acts on them), on
// the database's River driver: SQLite or PostgreSQL, both of which River UI
// serves.
func newRiverUI(db *store.DB, log logrus.FieldLogger) (*riverui.Handler, error) {
	slogger := riverlog.Logger(log, "river ui")
	client, err := river.NewClient(db.RiverDriver(), &river.Config{Logger: slogger})
	if err != nil {
		return nil, fmt.Errorf("river ui: client: %w", err)
	}
	ui, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(client, nil),
		Logger:    slogger,
		Prefix:    riverUIPrefix,
	})
	if err != nil {
		return nil, fmt.Errorf("river ui: %w", err)
	}
	return ui, nil
}
