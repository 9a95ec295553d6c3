package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/sethvargo/go-envconfig"
	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/internal/app"
	"github.com/wpbridge/wpbridge/internal/config"
	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/importer"
	"github.com/wpbridge/wpbridge/internal/metrics"
)

const importUsage = `usage: wpbridge import --tag NAME [--role ROLE] [--send-notification] [--dry-run]
       wpbridge import --from-wordpress [--role ROLE] [--dry-run]

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

  --from-wordpress       the other way: every WordPress user (with --role, of
                         that role) is sent to ActiveCampaign once, as a
                         sign-up or profile edit is with SYNC_TO_AC (one contact
                         sync each, the contact id stored in CONTACT_ID_META_KEY;
                         no REGISTRATION_TAGS). Users that already carry a
                         contact id are skipped, so a rerun continues.

With wpbridge serve running on the same DATABASE_URL the server does the work
and import follows it; otherwise import does the work itself.
`

// runImport runs wpbridge import and returns the exit status.
func runImport(ctx context.Context, args []string, env envconfig.Lookuper, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(stdout, importUsage)
		return 0
	}
	opts, err := parseImportCmd(args)
	if err != nil {
		fmt.Fprintf(stderr, "wpbridge import: %v\n\n%s", err, importUsage)
		return 2
	}
	cfg, err := config.Load(ctx, env)
	if err != nil {
		fmt.Fprintf(stderr, "wpbridge: invalid configuration:\n%v\n", err)
		return 2
	}
	if policy := app.Policy(cfg); !opts.FromWordPress && opts.Role != "" && !policy.Allows(contactsync.RoleSlug(opts.Role)) {
		fmt.Fprintf(stderr, "wpbridge import: --role %q is not in ALLOWED_ROLES (%v) nor DEFAULT_ROLE\n", opts.Role, cfg.AllowedRoles)
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
	res, err := importer.Run(ctx, importer.Env{Config: cfg, AC: ac, WP: wp, Log: log, Out: stdout}, opts)
	if err != nil {
		fmt.Fprintf(stderr, "wpbridge import: %v\n", err)
		return 1
	}
	if res.Failed > 0 || res.Interrupted {
		return 1
	}
	return 0
}

func parseImportCmd(args []string) (importer.Options, error) {
	var c importer.Options
	fs := flag.NewFlagSet("wpbridge import", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.Tag, "tag", "", "")
	fs.StringVar(&c.Role, "role", "", "")
	fs.BoolVar(&c.SendNotification, "send-notification", false, "")
	fs.BoolVar(&c.DryRun, "dry-run", false, "")
	fs.BoolVar(&c.FromWordPress, "from-wordpress", false, "")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case c.FromWordPress && c.Tag != "":
		return c, errors.New("--tag and --from-wordpress go different ways: give one")
	case c.FromWordPress && c.SendNotification:
		return c, errors.New("--send-notification does not apply to --from-wordpress (no user is created)")
	case c.Tag == "" && !c.FromWordPress:
		return c, errors.New("--tag NAME is required (or --from-wordpress)")
	}
	return c, nil
}
