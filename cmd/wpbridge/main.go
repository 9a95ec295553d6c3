// Command wpbridge keeps WordPress users in step with ActiveCampaign
// contacts. See README.md.
//
//	wpbridge [serve]   run the HTTP server and workers
//	wpbridge check     check the configuration against both APIs
//	wpbridge webhooks  list, show and retry stored webhooks
//	wpbridge migrate   create or upgrade the database schema and exit
//	wpbridge import    import the contacts holding an AC tag
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/gin-gonic/gin"
	"github.com/sethvargo/go-envconfig"
	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/internal/app"
	"github.com/wpbridge/wpbridge/internal/check"
	"github.com/wpbridge/wpbridge/internal/config"
	"github.com/wpbridge/wpbridge/internal/metrics"
)

const usage = `usage: wpbridge [serve|check|migrate|webhooks|import]

  serve     run the webhook server and workers (default)
  check     check the configuration against ActiveCampaign and WordPress
  migrate   create or upgrade the database schema (DATABASE_URL) and exit
  webhooks  list, show and retry stored webhooks (wpbridge webhooks help)
  import    make every contact with an ActiveCampaign tag a WordPress user
            (wpbridge import --tag NAME; wpbridge import help)

Configuration comes from environment variables; see .env.example.
`

func main() {
	gin.SetMode(gin.ReleaseMode)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], envconfig.OsLookuper(), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit status.
func run(ctx context.Context, args []string, env envconfig.Lookuper, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	if cmd == "webhooks" {
		return runWebhooks(ctx, args[1:], env, stdout, stderr)
	}
	if cmd == "import" {
		return runImport(ctx, args[1:], env, stdout, stderr)
	}
	if len(args) > 1 || (cmd != "serve" && cmd != "check" && cmd != "migrate") {
		if cmd == "help" || cmd == "-h" || cmd == "--help" {
			fmt.Fprint(stdout, usage)
			return 0
		}
		if len(args) > 1 {
			fmt.Fprintf(stderr, "wpbridge: too many arguments\n\n")
		} else {
			fmt.Fprintf(stderr, "wpbridge: unknown command %q\n\n", cmd)
		}
		fmt.Fprint(stderr, usage)
		return 2
	}
	cfg, err := config.Load(ctx, env)
	if err != nil {
		fmt.Fprintf(stderr, "wpbridge: invalid configuration:\n%v\n", err)
		return 2
	}
	log := newLogger(cfg, stderr)
	switch cmd {
	case "check":
		ac, wp, err := app.Clients(cfg, metrics.Discard(), nil)
		if err != nil {
			fmt.Fprintf(stderr, "wpbridge: %v\n", err)
			return 2
		}
		if !check.Run(ctx, cfg, ac, wp, stdout) {
			return 1
		}
		return 0
	case "migrate":
		if err := app.Migrate(ctx, cfg); err != nil {
			log.WithError(err).Error("migration failed")
			return 1
		}
		log.WithField("database", cfg.RedactedDatabaseURL()).Info("database schema is current")
		return 0
	default:
		for _, w := range check.Warnings(cfg) {
			log.WithFields(logrus.Fields{"variable": w.Var, "advice": w.Advice}).Warn(w.Message)
		}
		if err := serve(ctx, cfg, log); err != nil {
			log.WithError(err).Error("wpbridge stopped with an error")
			return 1
		}
		return 0
	}
}

func serve(ctx context.Context, cfg *config.Config, log *logrus.Logger) error {
	// Tests sharing one WordPress with tests of the outbox set it (app.Options).
	leave := os.Getenv("WPBRIDGE_TEST_LEAVE_OUTBOX") == "1"
	a, err := app.New(ctx, cfg, log, app.Options{LeaveOutbox: leave})
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("LISTEN_ADDR: %w", err)
	}
	if err := a.Serve(ctx, ln); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func newLogger(cfg *config.Config, w io.Writer) *logrus.Logger {
	log := logrus.New()
	log.SetOutput(w)
	if lvl, err := logrus.ParseLevel(cfg.LogLevel); err == nil {
		log.SetLevel(lvl)
	}
	if cfg.LogFormat == "json" {
		log.SetFormatter(&logrus.JSONFormatter{})
	} else {
		log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, DisableColors: true})
	}
	return log
}
