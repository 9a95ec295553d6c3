// Package importer is wpbridge import, WP Fusion's "import users": every
// ActiveCampaign contact holding a tag becomes an add webhook (source
// import) worked through the same queue, rules and rate limit as a webhook.
// Contacts already linked to a user are counted and skipped, so a rerun
// continues where an interrupted one stopped. With wpbridge serve running
// on the same database the server does the work and the import follows it;
// otherwise the import starts the queue itself. scan.go lists and enqueues
// the contacts (and makes the dry run), follow.go follows their webhooks and
// shows progress and the summary.
package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/app"
	"github.com/wpbridge/wpbridge/internal/config"
	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/wordpress"
)

// Options are what the command line asks for.
type Options struct {
	Tag              string // compared as ActiveCampaign does, ignoring case
	Role             string // role of new users; "" for DEFAULT_ROLE
	SendNotification bool   // WordPress's new-user email for created users
	DryRun           bool   // write nothing, print what would happen
	// FromWordPress turns the import around: every WordPress user (of Role
	// when set) is sent to AC once (fromwp.go); Tag and SendNotification
	// do not apply.
	FromWordPress bool
}

// Env is what an import runs with: the configuration and the API clients
// built from it, its log and where it prints progress and the summary.
type Env struct {
	Config *config.Config
	AC     *activecampaign.Client
	WP     *wordpress.Client
	Log    logrus.FieldLogger
	Out    io.Writer
}

// Result is how an import ended (after its summary was printed).
type Result struct {
	Failed      int  // contacts whose webhook failed
	Interrupted bool // ctx ended first; what was enqueued stays queued
}

// Run finds the tag, lists its contacts, enqueues them and follows them
// until all are finished or ctx ends.
func Run(ctx context.Context, env Env, opts Options) (Result, error) {
	imp := &importer{opts: opts, cfg: env.Config, ac: env.AC, wp: env.WP, log: env.Log, out: env.Out}
	var err error
	if opts.FromWordPress {
		err = imp.runFromWordPress(ctx)
	} else {
		err = imp.run(ctx)
	}
	imp.mu.Lock()
	defer imp.mu.Unlock()
	return Result{Failed: imp.stats.failed, Interrupted: imp.interrupted}, err
}

// importer is one run of wpbridge import.
type importer struct {
	opts Options
	cfg  *config.Config
	ac   *activecampaign.Client
	wp   *wordpress.Client
	log  logrus.FieldLogger
	out  io.Writer

	db     *store.DB
	app    *app.App // set when this process owns the work
	tag    *activecampaign.Tag
	what   string // what is imported, for the summary: tag "NAME", or WordPress users
	shared bool   // wpbridge serve owns the work

	mu          sync.Mutex
	stats       importStats
	follow      map[int64]string // unfinished webhooks followed -> contact id
	enqueued    bool             // every contact has been looked at
	interrupted bool
}

// run finds the tag, lists its contacts, enqueues them and follows them.
func (imp *importer) run(ctx context.Context) error {
	tag, err := imp.ac.Tags.Find(ctx, imp.opts.Tag)
	if errors.Is(err, activecampaign.ErrNotFound) {
		return fmt.Errorf("ActiveCampaign has no tag named %q (names are compared ignoring case); nothing imported", imp.opts.Tag)
	}
	if err != nil {
		return fmt.Errorf("find tag %q: %w", imp.opts.Tag, err)
	}
	imp.tag, imp.what = tag, fmt.Sprintf("tag %q", tag.Name)
	if imp.opts.DryRun {
		contacts, err := imp.list(ctx)
		if err != nil {
			return err
		}
		return imp.dryRun(ctx, contacts)
	}
	if err := imp.openDB(ctx); err != nil {
		return err
	}
	defer imp.closeDB()
	contacts, err := imp.list(ctx)
	if err != nil {
		return err
	}
	return imp.work(ctx, contacts)
}

// openDB takes the work lock through app.New, or, when wpbridge serve
// holds it, opens the database shared (serve does the work).
func (imp *importer) openDB(ctx context.Context) error {
	a, err := app.New(ctx, imp.cfg, imp.log, app.Options{})
	if err == nil {
		imp.app, imp.db, imp.ac = a, a.DB(), a.AC
		return nil
	}
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		return err
	}
	imp.db, err = app.OpenHistory(ctx, imp.cfg)
	if err != nil {
		return err
	}
	imp.shared = true
	return nil
}

func (imp *importer) closeDB() {
	if imp.app != nil {
		imp.app.Close()
		return
	}
	imp.db.Close()
}

// work starts the queue when this process owns it, enqueues the contacts
// and follows the webhooks until all are finished or ctx ends.
func (imp *importer) work(ctx context.Context, contacts []*activecampaign.Contact) error {
	return imp.startWork(ctx, func(ctx context.Context) error { return imp.enqueueAll(ctx, contacts) })
}

// startWork starts the queue when this process owns it, runs enqueue and
// follows the webhooks until all are finished or ctx ends.
func (imp *importer) startWork(ctx context.Context, enqueue func(ctx context.Context) error) error {
	if imp.app != nil {
		if err := imp.app.Queue.Start(ctx); err != nil {
			return err
		}
		defer func() {
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), app.ShutdownTimeout)
			defer cancel()
			if err := imp.app.Queue.Stop(stopCtx); err != nil {
				imp.log.WithError(err).Warn("queue stopped with an error")
			}
		}()
	} else if err := sleepCtx(ctx, time.Second); err != nil {
		// serve's limiter does not know the listing's requests: keep them
		// out of the one-second window of the work they start.
		imp.interrupted = true
		imp.summary()
		return nil
	}
	return imp.followEnqueued(ctx, enqueue)
}

// followEnqueued runs enqueue and follows the webhooks it enqueues until all are
// finished or ctx ends, then prints the summary.
func (imp *importer) followEnqueued(ctx context.Context, enqueue func(ctx context.Context) error) error {
	errc := make(chan error, 1)
	go func() { errc <- enqueue(ctx) }()
	err := imp.followUntilDone(ctx, errc)
	imp.summary()
	return err
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
