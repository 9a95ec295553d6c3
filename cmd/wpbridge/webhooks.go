package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/sethvargo/go-envconfig"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/app"
	"github.com/wpbridge/wpbridge/internal/config"
	"github.com/wpbridge/wpbridge/internal/history"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

const webhooksUsage = `usage: wpbridge webhooks list [--state pending|done|ignored|failed] [--contact ID] [--limit N] [--json]
       wpbridge webhooks show ID [--json]
       wpbridge webhooks retry ID [ID...]
       wpbridge webhooks retry --state failed [--contact ID]

  list    stored webhooks, newest first (50 unless --limit); --json prints
          one JSON object per line
  show    one webhook: its parameters, state, attempts, last error, result
  retry   puts failed webhooks back to pending with a fresh retry horizon;
          a running wpbridge serve works them (or it does once started)

These commands work while wpbridge serve runs on the same DATABASE_URL.
`

// webhooksCmd is a parsed wpbridge webhooks command line.
type webhooksCmd struct {
	sub     string // list, show or retry
	state   string
	contact string
	limit   int
	json    bool
	ids     []int64
}

// runWebhooks runs wpbridge webhooks and returns the exit status.
func runWebhooks(ctx context.Context, args []string, env envconfig.Lookuper, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(stdout, webhooksUsage)
		return 0
	}
	cmd, err := parseWebhooksCmd(args)
	if err != nil {
		fmt.Fprintf(stderr, "wpbridge webhooks: %v\n\n%s", err, webhooksUsage)
		return 2
	}
	cfg, err := config.Load(ctx, env)
	if err != nil {
		fmt.Fprintf(stderr, "wpbridge: invalid configuration:\n%v\n", err)
		return 2
	}
	db, err := app.OpenHistory(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "wpbridge: %v\n", err)
		return 1
	}
	defer db.Close()
	h := app.History(db)
	switch cmd.sub {
	case "list":
		var list []history.Webhook
		if list, err = h.List(ctx, history.Filter{State: cmd.state, ContactID: cmd.contact, Limit: cmd.limit}); err == nil {
			err = history.WriteList(stdout, list, cmd.json)
		}
	case "show":
		var d *history.Detail
		if d, err = h.Get(ctx, cmd.ids[0]); err == nil {
			err = history.WriteShow(stdout, d, cmd.json)
		}
	default:
		err = retryWebhooks(ctx, h, cmd, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "wpbridge: %v\n", err)
		return 1
	}
	return 0
}

// parseWebhooksCmd reads the subcommand, its flags and its ids (flags and
// ids may come in any order).
func parseWebhooksCmd(args []string) (*webhooksCmd, error) {
	if len(args) == 0 {
		return nil, errors.New("missing subcommand: list, show or retry")
	}
	c := &webhooksCmd{sub: args[0]}
	fs := flag.NewFlagSet("wpbridge webhooks "+c.sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	switch c.sub {
	case "list":
		fs.StringVar(&c.state, "state", "", "")
		fs.StringVar(&c.contact, "contact", "", "")
		fs.IntVar(&c.limit, "limit", 50, "")
		fs.BoolVar(&c.json, "json", false, "")
	case "show":
		fs.BoolVar(&c.json, "json", false, "")
	case "retry":
		fs.StringVar(&c.state, "state", "", "")
		fs.StringVar(&c.contact, "contact", "", "")
	default:
		return nil, fmt.Errorf("unknown subcommand %q: use list, show or retry", c.sub)
	}
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return nil, err
	}
	for _, p := range pos {
		id, err := strconv.ParseInt(p, 10, 64)
		if err != nil || id <= 0 {
			return nil, fmt.Errorf("%q is not a webhook id (a positive number)", p)
		}
		if !slices.Contains(c.ids, id) {
			c.ids = append(c.ids, id)
		}
	}
	return c, c.check()
}

// parseInterleaved parses flags found anywhere in args and returns the
// other arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
}

// check says what is wrong with a parsed command line.
func (c *webhooksCmd) check() error {
	if c.contact != "" && !activecampaign.ValidID(c.contact) {
		return fmt.Errorf("--contact %q: a contact id is a number", c.contact)
	}
	switch c.sub {
	case "list":
		switch c.state {
		case "", webhook.StatePending, webhook.StateDone, webhook.StateIgnored, webhook.StateFailed:
		default:
			return fmt.Errorf("--state %q: use pending, done, ignored or failed", c.state)
		}
		if c.limit <= 0 {
			return fmt.Errorf("--limit %d: use a positive number", c.limit)
		}
		if len(c.ids) > 0 {
			return errors.New("list takes no webhook id: use show ID")
		}
	case "show":
		if len(c.ids) != 1 {
			return errors.New("show takes exactly one webhook id")
		}
	case "retry":
		switch {
		case len(c.ids) > 0 && (c.state != "" || c.contact != ""):
			return errors.New("retry takes webhook ids or --state failed [--contact ID], not both")
		case len(c.ids) == 0 && c.state == "":
			return errors.New("retry needs webhook ids or --state failed")
		case len(c.ids) == 0 && c.state != webhook.StateFailed:
			return fmt.Errorf("--state %q: only failed webhooks can be retried", c.state)
		}
	}
	return nil
}

// retryWebhooks puts the command's failed webhooks back to pending: its ids
// (each checked first), else every failed one (of --contact).
func retryWebhooks(ctx context.Context, h *history.History, c *webhooksCmd, w io.Writer) error {
	if len(c.ids) == 0 {
		done, err := h.RetryFailed(ctx, c.contact)
		if err != nil {
			return err
		}
		if done == nil {
			fmt.Fprintln(w, "no failed webhooks to retry")
			return nil
		}
		return history.WriteRetried(w, len(done))
	}
	done, err := h.Retry(ctx, c.ids...)
	if done == nil && err != nil {
		return err
	}
	if werr := history.WriteRetried(w, len(done)); werr != nil {
		return werr
	}
	return err
}
