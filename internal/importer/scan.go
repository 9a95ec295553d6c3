package importer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/queue"
	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/internal/webhook"
	"github.com/wpbridge/wpbridge/wordpress"
)

// importPage is the number of contacts per AC request and per enqueued batch.
const importPage = activecampaign.MaxListLimit

// lookupWorkers is how many WordPress lookups run at once.
const lookupWorkers = 8

// list pages through the contacts holding the tag (100 per request), each
// contact once.
func (imp *importer) list(ctx context.Context) ([]*activecampaign.Contact, error) {
	var out []*activecampaign.Contact
	seen := map[string]bool{}
	for off := 0; ; off += importPage {
		page, total, err := imp.listPage(ctx, off)
		if err != nil {
			return nil, fmt.Errorf("list contacts with tag %q: %w", imp.tag.Name, err)
		}
		for _, c := range page {
			if !seen[c.ID] {
				seen[c.ID] = true
				out = append(out, c)
			}
		}
		imp.mu.Lock()
		imp.stats.found = max(total, len(out))
		imp.mu.Unlock()
		if len(page) < importPage {
			return out, nil
		}
	}
}

// listPage gets one page, waiting out throttling (429/503) a few times.
func (imp *importer) listPage(ctx context.Context, off int) ([]*activecampaign.Contact, int, error) {
	for try := 0; ; try++ {
		page, total, err := imp.ac.Contacts.ListByTag(ctx, imp.tag.ID, off, importPage)
		var e *activecampaign.Error
		if err == nil || try >= 5 || !errors.As(err, &e) || !e.Temporary() {
			return page, total, err
		}
		wait := max(e.RetryAfter, time.Second)
		if err := sleepCtx(ctx, wait); err != nil {
			return nil, 0, err
		}
	}
}

// linkState is what WordPress holds for a contact.
type linkState int

const (
	notLinked     linkState = iota
	alreadyLinked           // a user carries the contact id
	emailTaken              // an unlinked user has the contact's email (dry run only)
)

// lookup says whether a user is linked to each contact (by the contact-id
// meta, one request each) and, when byEmail, whether an unlinked user has
// its email. A failed lookup reads as not linked: the add finds out.
func (imp *importer) lookup(ctx context.Context, cs []*activecampaign.Contact, byEmail bool) []linkState {
	out := make([]linkState, len(cs))
	sem := make(chan struct{}, lookupWorkers)
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, err := imp.wp.Users.FindByMeta(ctx, imp.cfg.ContactIDMetaKey, c.ID)
			switch {
			case err == nil:
				out[i] = alreadyLinked
				return
			case !errors.Is(err, wordpress.ErrNotFound):
				imp.log.WithError(err).WithField("contact_id", c.ID).Debug("lookup of the linked user failed")
				return
			}
			if byEmail && c.Email != "" {
				if _, err := imp.wp.Users.FindByEmail(ctx, c.Email); err == nil {
					out[i] = emailTaken
				}
			}
		}()
	}
	wg.Wait()
	return out
}

// dryRun prints what an import would do and writes nothing.
func (imp *importer) dryRun(ctx context.Context, contacts []*activecampaign.Contact) error {
	var create, link, linked int
	for start := 0; start < len(contacts); start += importPage {
		chunk := contacts[start:min(start+importPage, len(contacts))]
		for _, s := range imp.lookup(ctx, chunk, true) {
			switch s {
			case alreadyLinked:
				linked++
			case emailTaken:
				link++
			default:
				create++
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	fmt.Fprintf(imp.out, "dry run: tag %q (id %s), %d contacts: would create %d, would link %d, already linked %d\n",
		imp.tag.Name, imp.tag.ID, len(contacts), create, link, linked)
	return nil
}

// earlierImports returns the pending import webhooks by contact: those of
// an earlier run that was stopped before they were worked.
func (imp *importer) earlierImports(ctx context.Context) (map[string][]int64, error) {
	recs, err := imp.db.Webhooks.List(ctx, store.ListOptions{State: webhook.StatePending, Limit: math.MaxInt32})
	if err != nil {
		return nil, err
	}
	out := map[string][]int64{}
	for _, r := range recs {
		if r.Source == webhook.SourceImport {
			out[r.Request.ContactID] = append(out[r.Request.ContactID], r.ID)
		}
	}
	return out, nil
}

// enqueueAll looks at the contacts a page at a time: already linked ones
// are counted, those with an import still pending are followed, the others
// are enqueued as one add webhook each (one transaction per page).
func (imp *importer) enqueueAll(ctx context.Context, contacts []*activecampaign.Contact) error {
	defer imp.doneEnqueuing()
	earlier, err := imp.earlierImports(ctx)
	if err != nil {
		return err
	}
	for start := 0; start < len(contacts) && ctx.Err() == nil; start += importPage {
		chunk := contacts[start:min(start+importPage, len(contacts))]
		states := imp.lookup(ctx, chunk, false)
		var ws []webhook.Webhook
		for i, c := range chunk {
			switch {
			case len(earlier[c.ID]) > 0:
				// Its pending webhooks are worked in one round; the last one
				// says how it ended.
				imp.followIDs(earlier[c.ID][len(earlier[c.ID])-1:], c.ID)
			case states[i] == alreadyLinked:
				imp.mu.Lock()
				imp.stats.alreadyLinked++
				imp.mu.Unlock()
			default:
				ws = append(ws, imp.webhook(c))
			}
		}
		if ctx.Err() != nil {
			return nil // interrupted: enqueue nothing more
		}
		if err := imp.enqueue(ctx, ws); err != nil {
			return err
		}
	}
	return nil
}

// doneEnqueuing records that every webhook of the import is enqueued (the
// followers may then finish).
func (imp *importer) doneEnqueuing() {
	imp.mu.Lock()
	imp.enqueued = true
	imp.mu.Unlock()
}

// enqueue stores ws through the queue and follows each to its end.
func (imp *importer) enqueue(ctx context.Context, ws []webhook.Webhook) error {
	ids, err := queue.Enqueue(ctx, imp.db, ws, time.Now())
	if err != nil {
		return err
	}
	for i, id := range ids {
		imp.followIDs([]int64{id}, ws[i].Request.ContactID)
	}
	return nil
}

func (imp *importer) webhook(c *activecampaign.Contact) webhook.Webhook {
	email := c.Email
	if len(email) > 254 {
		email = ""
	}
	return webhook.Webhook{Source: webhook.SourceImport, Request: contactsync.Request{
		ContactID: c.ID, Action: contactsync.ActionAdd, Role: imp.opts.Role,
		SendNotification: imp.opts.SendNotification, EmailHint: email,
	}}
}

func (imp *importer) followIDs(ids []int64, contact string) {
	imp.mu.Lock()
	defer imp.mu.Unlock()
	if imp.follow == nil {
		imp.follow = map[int64]string{}
	}
	for _, id := range ids {
		imp.follow[id] = contact
	}
}
