// Command acfake runs the project's fake ActiveCampaign API (package acfake)
// as a process, seeded with one contact and a text field for returned
// passwords, so that scripts/demo.sh shows the whole flow without an account.
//
//	go run ./internal/testing/acfake/cmd/acfake -api-key KEY -email ada@example.com \
//	    -first-name Ada -last-name Lovelace -tags "Customer, Newsletter"
//
// Once it listens it prints KEY=VALUE lines (AC_API_URL, AC_CONTACT_ID,
// AC_PASSWORD_FIELD_ID) and serves until SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/wpbridge/wpbridge/internal/testing/acfake"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("acfake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	apiKey := fs.String("api-key", "", "API token clients must send in the Api-Token header (required)")
	id := fs.String("contact-id", "", "the contact's id (default: assigned, starting at 1)")
	email := fs.String("email", "", "the contact's email (required)")
	first := fs.String("first-name", "", "the contact's first name")
	last := fs.String("last-name", "", "the contact's last name")
	tags := fs.String("tags", "", "the contact's tags, comma-separated")
	field := fs.String("password-field", "WP_PASSWORD", "personalization tag of the text field for returned passwords")
	rate := fs.Int("rate-limit", 5, "requests accepted per second (AC's limit), 0 for none")
	latency := fs.Duration("latency", 0, "time added to every answer (e.g. 300ms, closer to the real API)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *apiKey == "" || *email == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "acfake: -api-key and -email are required (see -h)")
		return 2
	}
	srv := acfake.NewServer(acfake.Config{APIKey: *apiKey, RateLimit: *rate, Latency: *latency})
	defer srv.Close()
	fieldID := srv.AddField("WP Password", *field, "text")
	var tagList []string
	for _, t := range strings.Split(*tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tagList = append(tagList, t)
		}
	}
	cid := srv.AddContact(acfake.Contact{ID: *id, Email: *email, FirstName: *first, LastName: *last, Tags: tagList})
	fmt.Fprintf(stdout, "AC_API_URL=%s\nAC_CONTACT_ID=%s\nAC_PASSWORD_FIELD_ID=%s\n", srv.URL(), cid, fieldID)
	<-ctx.Done()
	return 0
}
