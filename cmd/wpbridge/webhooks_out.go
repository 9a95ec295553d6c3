package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wpbridge/wpbridge/internal/admin"
	"github.com/wpbridge/wpbridge/internal/app"
	"github.com/wpbridge/wpbridge/internal/queue"
	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

// listWebhooks prints stored webhooks, newest first.
func listWebhooks(ctx context.Context, db *store.DB, c *webhooksCmd, w io.Writer) error {
	rs, err := db.Webhooks.List(ctx, store.ListOptions{State: c.state, ContactID: c.contact, Limit: c.limit})
	if err != nil {
		return err
	}
	if c.json {
		enc := json.NewEncoder(w)
		for _, r := range rs {
			if err := enc.Encode(admin.NewListJSON(app.AdminWebhook(r))); err != nil {
				return err
			}
		}
		return nil
	}
	if len(rs) == 0 {
		fmt.Fprintln(w, "no webhooks match")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRECEIVED\tSOURCE\tACTION\tCONTACT\tSTATE\tATTEMPTS\tUSER\tERROR OR RESULT")
	for _, r := range rs {
		user := "-"
		if r.UserID != 0 {
			user = fmt.Sprint(r.UserID)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, admin.TimeOut(r.ReceivedAt), r.Source, r.Request.Action,
			r.Request.ContactID, r.State, r.Attempts, user, oneLine(summary(r), 70))
	}
	return tw.Flush()
}

// summary is a webhook's error while it has one, else its result.
func summary(r webhook.Record) string {
	if r.Error != "" {
		return r.Error
	}
	return r.Message
}

// oneLine flattens s to one line of at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if rs := []rune(s); len(rs) > n {
		return string(rs[:n-1]) + "…"
	}
	return s
}

// showWebhook prints one webhook. An access key is never stored, and a
// password never is in a webhook's row: neither can be shown.
func showWebhook(ctx context.Context, db *store.DB, c *webhooksCmd, w io.Writer) error {
	r, err := db.Webhooks.Get(ctx, c.ids[0])
	if errors.Is(err, webhook.ErrNotFound) {
		return fmt.Errorf("%w (finished webhooks are deleted after HISTORY_RETENTION)", err)
	}
	if err != nil {
		return err
	}
	it := admin.NewShowJSON(app.AdminDetail(r))
	if c.json {
		return json.NewEncoder(w).Encode(it)
	}
	printShow(w, it)
	return nil
}

func printShow(w io.Writer, it admin.ShowJSON) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	line := func(k, v string) {
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\n", k, v)
	}
	line("webhook", fmt.Sprint(it.ID))
	line("received", it.ReceivedAt+" ("+it.Source+")")
	line("action", it.Action)
	line("contact", it.ContactID)
	line("role", it.Role)
	line("send_notification", fmt.Sprint(it.SendNotification))
	line("async", fmt.Sprint(it.Async))
	line("payload email", it.Email)
	tags := "(not in the payload)"
	if it.Tags != nil {
		tags = strings.Join(it.Tags, ", ")
	}
	line("payload tags", tags)
	if it.Delete {
		line("delete", "true, content to "+orDefault(it.Reassign, "the WP_USERNAME user"))
	}
	line("state", it.State)
	line("attempts", fmt.Sprint(it.Attempts))
	line("last error", it.Error)
	line("result", it.Message)
	if it.UserID != 0 {
		line("user id", fmt.Sprint(it.UserID))
	}
	if it.State == webhook.StatePending || it.State == webhook.StateFailed {
		line("retried since", it.RetryFrom)
	}
	line("finished", it.FinishedAt)
	tw.Flush()
	if it.State == webhook.StateFailed {
		fmt.Fprintf(w, "\n%s\n", webhook.ReplayHint(it.ID))
	}
}

// retryWebhooks puts failed webhooks back to pending. Given ids, it first
// checks that each is failed and retries none otherwise.
func retryWebhooks(ctx context.Context, db *store.DB, c *webhooksCmd, w io.Writer) error {
	ids := c.ids
	if len(ids) == 0 {
		var err error
		if ids, err = db.Webhooks.FailedIDs(ctx, c.contact); err != nil {
			return err
		}
		if len(ids) == 0 {
			fmt.Fprintln(w, "no failed webhooks to retry")
			return nil
		}
	}
	var problems []error
	for _, id := range c.ids {
		r, err := db.Webhooks.Get(ctx, id)
		switch {
		case errors.Is(err, webhook.ErrNotFound):
			problems = append(problems, fmt.Errorf("%w (finished webhooks are deleted after HISTORY_RETENTION)", err))
		case err != nil:
			return err
		case r.State != webhook.StateFailed:
			problems = append(problems, fmt.Errorf("webhook %d is %s, not failed: only failed webhooks can be retried", id, r.State))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("nothing retried:\n%w", errors.Join(problems...))
	}
	done, err := queue.Requeue(ctx, db, ids, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d %s put back to pending; a running wpbridge serve works %s (or it does once started)\n",
		len(done), plural(len(done), "webhook", "webhooks"), plural(len(done), "it", "them"))
	if len(c.ids) > 0 && len(done) < len(ids) {
		return fmt.Errorf("%d of %d webhooks were no longer failed and were left alone", len(ids)-len(done), len(ids))
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
