package history

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/wpbridge/wpbridge/internal/webhook"
)

// WriteList prints webhooks as `wpbridge webhooks list` does: a table, or
// one JSON object per line.
func WriteList(w io.Writer, list []Webhook, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, r := range list {
			if err := enc.Encode(NewListJSON(r)); err != nil {
				return err
			}
		}
		return nil
	}
	if len(list) == 0 {
		_, err := fmt.Fprintln(w, "no webhooks match")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRECEIVED\tSOURCE\tACTION\tCONTACT\tSTATE\tATTEMPTS\tUSER\tERROR OR RESULT")
	for _, r := range list {
		user := "-"
		if r.UserID != 0 {
			user = fmt.Sprint(r.UserID)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, TimeOut(r.ReceivedAt), printable(r.Source),
			printable(r.Action), printable(r.ContactID), r.State, r.Attempts, user, oneLine(summary(r), 70))
	}
	return tw.Flush()
}

// summary is a webhook's error while it has one, else its result.
func summary(r Webhook) string {
	if r.Error != "" {
		return r.Error
	}
	return r.Message
}

// oneLine flattens s to one line of at most n runes, printable.
func oneLine(s string, n int) string {
	s = printable(strings.Join(strings.Fields(s), " "))
	if rs := []rune(s); len(rs) > n {
		return string(rs[:n-1]) + "…"
	}
	return s
}

// WriteShow prints one webhook as `wpbridge webhooks show` does. An access
// key is never stored, and a password never is in a webhook's row: neither
// can be shown.
func WriteShow(w io.Writer, d *Detail, asJSON bool) error {
	it := NewShowJSON(d)
	if asJSON {
		return json.NewEncoder(w).Encode(it)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	line := func(k, v string) {
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\n", k, printable(v))
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
		reassign := it.Reassign
		if reassign == "" {
			reassign = "the WP_USERNAME user"
		}
		line("delete", "true, content to "+reassign)
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
	if err := tw.Flush(); err != nil {
		return err
	}
	if it.State == webhook.StateFailed {
		_, err := fmt.Fprintf(w, "\n%s\n", webhook.ReplayHint(it.ID))
		return err
	}
	return nil
}

// printable escapes what a terminal would act on instead of showing: control
// characters (escape sequences, carriage returns, newlines, C1 controls) and
// the bidirectional formatting characters that reorder what is shown, Go
// style (\x1b, \n, \u202e). A webhook's payload and WordPress's error text
// come from outside; printed as they are, they could rewrite the screen.
func printable(s string) string {
	if !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unsafeRune(r) {
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == utf8.RuneError
}

// WriteRetried prints how many webhooks a retry put back to pending.
func WriteRetried(w io.Writer, n int) error {
	_, err := fmt.Fprintf(w, "%d %s put back to pending; a running wpbridge serve works %s (or it does once started)\n",
		n, plural(n, "webhook", "webhooks"), plural(n, "it", "them"))
	return err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
