package importer

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/outbox"
	"github.com/wpbridge/wpbridge/internal/webhook"
	"github.com/wpbridge/wpbridge/wordpress"
)

// wpPage is how many users one WordPress request lists.
const wpPage = 100

// importEpoch is the epoch of the events an import makes up (they are not
// the plugin's; their key is never used to deduplicate: an import skips
// users with a pending import instead).
const importEpoch = "import"

// noun names what is imported, for the summary.
func (imp *importer) noun() string {
	if imp.opts.FromWordPress {
		return "users"
	}
	return "contacts"
}

// runFromWordPress is wpbridge import --from-wordpress: every user (of
// opts.Role) not yet linked to a contact becomes a wordpress_sync webhook
// (source import, contact key wp-user:ID) worked like an outbox event: one
// contact sync each, the contact id stored in CONTACT_ID_META_KEY. Users
// already carrying a contact id are counted and skipped, so a rerun
// continues where an interrupted one stopped. It is not a sign-up:
// REGISTRATION_TAGS are not added.
func (imp *importer) runFromWordPress(ctx context.Context) error {
	imp.what = "WordPress users"
	if imp.opts.Role != "" {
		imp.what = fmt.Sprintf("WordPress users with role %q", imp.opts.Role)
	}
	users, err := imp.listUsers(ctx)
	if err != nil {
		return err
	}
	if imp.opts.DryRun {
		linked := 0
		for _, u := range users {
			if imp.linkedUser(u) {
				linked++
			}
		}
		fmt.Fprintf(imp.out, "dry run: %s, %d users: would sync %d, already linked %d\n", imp.what, len(users), len(users)-linked, linked)
		return nil
	}
	if err := imp.openDB(ctx); err != nil {
		return err
	}
	defer imp.closeDB()
	return imp.startWork(ctx, func(ctx context.Context) error { return imp.enqueueUsers(ctx, users) })
}

// listUsers pages through the users (of opts.Role).
func (imp *importer) listUsers(ctx context.Context) ([]wordpress.User, error) {
	var out []wordpress.User
	for page := 1; ; page++ {
		us, _, err := imp.wp.Users.List(ctx, page, wpPage)
		if err != nil {
			return nil, fmt.Errorf("list WordPress users: %w", err)
		}
		for _, u := range us {
			if imp.opts.Role == "" || slices.Contains(u.Roles, imp.opts.Role) {
				out = append(out, u)
			}
		}
		imp.mu.Lock()
		imp.stats.found = len(out)
		imp.mu.Unlock()
		if len(us) < wpPage {
			return out, nil
		}
	}
}

// linkedUser reports whether u carries a contact id.
func (imp *importer) linkedUser(u wordpress.User) bool {
	id, ok := u.Meta[imp.cfg.ContactIDMetaKey].(string)
	return ok && activecampaign.ValidID(id)
}

// enqueueUsers enqueues a webhook per user not yet linked, a page at a
// time; users with an import still pending from an earlier run are
// followed instead.
func (imp *importer) enqueueUsers(ctx context.Context, users []wordpress.User) error {
	defer imp.doneEnqueuing()
	earlier, err := imp.earlierImports(ctx)
	if err != nil {
		return err
	}
	keys := imp.cfg.OutboxMetaKeys()
	for start := 0; start < len(users) && ctx.Err() == nil; start += wpPage {
		var evs []wordpress.Event
		for _, u := range users[start:min(start+wpPage, len(users))] {
			key := "wp-user:" + strconv.FormatInt(u.ID, 10)
			switch {
			case len(earlier[key]) > 0:
				imp.followIDs(earlier[key][len(earlier[key])-1:], key)
			case imp.linkedUser(u):
				imp.mu.Lock()
				imp.stats.alreadyLinked++
				imp.mu.Unlock()
			default:
				evs = append(evs, userEvent(u, keys))
			}
		}
		ws, err := outbox.Webhooks(evs, "")
		if err != nil {
			return err
		}
		for i := range ws {
			ws[i].Source, ws[i].EventKey = webhook.SourceImport, ""
		}
		if err := imp.enqueue(ctx, ws); err != nil {
			return err
		}
	}
	return nil
}

// userEvent is the event of an existing user: an update carrying its
// fields and its meta keys among metaKeys.
func userEvent(u wordpress.User, metaKeys []string) wordpress.Event {
	ev := wordpress.Event{Epoch: importEpoch, ID: u.ID, Type: wordpress.EventUpdate, UserID: u.ID, Time: time.Now().UTC(),
		User: wordpress.EventUser{Login: u.Username, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
			DisplayName: u.Name, Nickname: u.Nickname, URL: u.URL, Description: u.Description}}
	for _, k := range metaKeys {
		if v, ok := u.Meta[k]; ok {
			if ev.User.Meta == nil {
				ev.User.Meta = map[string]any{}
			}
			ev.User.Meta[k] = v
		}
	}
	return ev
}
