package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/sethvargo/go-envconfig"
	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/app"
	"github.com/wpbridge/wpbridge/internal/config"
	"github.com/wpbridge/wpbridge/internal/metrics"
	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/wordpress"
)

const importUsage = `usage: wpbridge import --tag NAME [--role ROLE] [--send-notification] [--dry-run]

  Every ActiveCampaign contact holding the tag NAME becomes an add webhook
  (source import) worked like one from ActiveCampaign: same queue, rules and
  rate limit. Contacts already linked to a WordPress user are counted and
  skipped, so running it again after an interruption continues where it
  stopped. Waits until every contact is processed; exit status 0 only when
  none failed.

  --tag NAME             the tag (compared as ActiveCampaign does, ignoring case)
  --role ROLE            role of new users (one of ALLOWED_ROLES; default DEFAULT_ROLE)
  --send-notification    send WordPress's new-user email to created users
  --dry-run              write nothing; print would create N, would link M,
                         already linked K

With wpbridge serve running on the same DATABASE_URL the server does the work
and import follows it; otherwise import does the work itself.
`

// importCmd is a parsed wpbridge import command line.
type importCmd struct {
	tag, role      string
	notify, dryRun bool
}

// runImport runs wpbridge import and returns the exit status.
func runImport(ctx context.Context, args []string, env envconfig.Lookuper, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(stdout, importUsage)
		return 0
	}
	cmd, err := parseImportCmd(args)
	if err != nil {
		fmt.Fprintf(stderr, "wpbridge import: %v\n\n%s", err, importUsage)
		return 2
	}
	cfg, err := config.Load(ctx, env)
	if err != nil {
		fmt.Fprintf(stderr, "wpbridge: invalid configuration:\n%v\n", err)
		return 2
	}
	if cmd.role != "" && cmd.role != cfg.DefaultRole && !slices.Contains(cfg.AllowedRoles, cmd.role) {
		fmt.Fprintf(stderr, "wpbridge import: --role %q is not in ALLOWED_ROLES (%v) nor DEFAULT_ROLE\n", cmd.role, cfg.AllowedRoles)
		return 2
	}
	log := newLogger(cfg, stderr)
	if log.GetLevel() > logrus.WarnLevel {
		log.SetLevel(logrus.WarnLevel) // one line per contact would bury the progress
	}
	budget, err := app.SharedBudget(ctx, cfg) // on PostgreSQL: the fleet's AC budget
	if err != nil {
		fmt.Fprintf(stderr, "wpbridge import: %v\n", err)
		return 1
	}
	if budget != nil {
		defer budget.Close()
	}
	ac, wp, err := app.Clients(cfg, metrics.Discard(), budget)
	if err != nil {
		fmt.Fprintf(stderr, "wpbridge: %v\n", err)
		return 2
	}
	imp := &importer{cmd: cmd, cfg: cfg, ac: ac, wp: wp, log: log, out: stdout}
	if err := imp.run(ctx); err != nil {
		fmt.Fprintf(stderr, "wpbridge import: %v\n", err)
		return 1
	}
	if imp.stats.failed > 0 || imp.interrupted {
		return 1
	}
	return 0
}

func parseImportCmd(args []string) (importCmd, error) {
	var c importCmd
	fs := flag.NewFlagSet("wpbridge import", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.tag, "tag", "", "")
	fs.StringVar(&c.role, "role", "", "")
	fs.BoolVar(&c.notify, "send-notification", false, "")
	fs.BoolVar(&c.dryRun, "dry-run", false, "")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case c.tag == "":
		return c, errors.New("--tag NAME is required")
	}
	return c, nil
}

// importer is one run of wpbridge import.
type importer struct {
	cmd importCmd
	cfg *config.Config
	ac  *activecampaign.Client
	wp  *wordpress.Client
	log logrus.FieldLogger
	out io.Writer

	db     *store.DB
	app    *app.App // set when this process owns the work
	tag    *activecampaign.Tag
	shared bool // wpbridge serve owns the work

	mu          sync.Mutex
	stats       importStats
	follow      map[int64]string // unfinished webhooks followed -> contact id
	enqueued    bool             // every contact has been looked at
	interrupted bool
}

// run finds the tag, lists its contacts, enqueues them and follows them.
func (imp *importer) run(ctx context.Context) error {
	tag, err := imp.ac.Tags.Find(ctx, imp.cmd.tag)
	if errors.Is(err, activecampaign.ErrNotFound) {
		return fmt.Errorf("ActiveCampaign has no tag named %q (names are compared ignoring case); nothing imported", imp.cmd.tag)
	}
	if err != nil {
		return fmt.Errorf("find tag %q: %w", imp.cmd.tag, err)
	}
	imp.tag = tag
	if imp.cmd.dryRun {
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
	imp.db, err = openHistory(ctx, imp.cfg)
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
	errc := make(chan error, 1)
	go func() { errc <- imp.enqueueAll(ctx, contacts) }()
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
