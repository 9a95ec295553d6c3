package outbox

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/wordpress"
)

// UserMeta writes one meta value of a WordPress user through wpbridge's own
// application password: a write the plugin's outbox does not record (no
// loop). adapters.Users is one.
type UserMeta interface {
	SetContactID(ctx context.Context, userID int64, key, contactID string) error
}

// Echoes records wpbridge's own writes to AC contacts (store.Echoes, through
// adapters.Echoes), so that AC's webhook caused by them is ignored.
type Echoes interface {
	Begin(ctx context.Context, contactID string) (EchoWrite, error)
}

// EchoWrite is one recorded write in flight.
type EchoWrite interface {
	Confirm(ctx context.Context) error
	Cancel(ctx context.Context) error
}

// Round is the round of a WordPress event (contactsync.ToAC): Build, Apply,
// then the contact id into the user's CONTACT_ID_META_KEY.
type Round struct {
	Mapper *Mapper
	AC     AC
	Users  UserMeta
	Echoes Echoes // nil: no echo is recorded
}

// SyncToAC implements contactsync.ToAC.
func (r *Round) SyncToAC(ctx context.Context, req contactsync.Request) (contactsync.Result, error) {
	ev, err := DecodeEvent(req.Event)
	if err != nil {
		return contactsync.Result{}, fmt.Errorf("%w: %w", contactsync.ErrPermanent, err)
	}
	if req.Register && ev.Type == wordpress.EventUpdate {
		ev.Type = wordpress.EventRegister // a sign-up and its edits, in one round
	}
	res := contactsync.Result{Status: contactsync.StatusDone, UserID: ev.UserID}
	s, err := r.Mapper.Build(ctx, ev)
	if errors.Is(err, ErrNothingToSync) {
		res.Status = contactsync.StatusIgnored
		res.Message = fmt.Sprintf("WordPress user %d deleted: its ActiveCampaign contact is left as it is", ev.UserID)
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("%w: %w", contactsync.ErrPermanent, err)
	}
	var echo EchoWrite
	if r.Echoes != nil && s.ContactID != "" {
		if echo, err = r.Echoes.Begin(ctx, s.ContactID); err != nil {
			return res, err
		}
	}
	out, err := Apply(ctx, r.AC, s)
	if echo != nil {
		settle := echo.Confirm
		if err != nil || out.ContactID != s.ContactID {
			settle = echo.Cancel
		}
		if serr := settle(context.WithoutCancel(ctx)); serr != nil && err == nil {
			err = serr
		}
	}
	if err != nil {
		return res, err
	}
	if r.Echoes != nil && out.ContactID != s.ContactID {
		// A contact first known now: its echo is expected from now on.
		w, err := r.Echoes.Begin(ctx, out.ContactID)
		if err != nil {
			return res, err
		}
		if err := w.Confirm(ctx); err != nil {
			return res, err
		}
	}
	res.Changes = append(res.Changes, "contact_sync")
	if len(s.Tags) > 0 {
		res.Changes = append(res.Changes, "tags")
	}
	verb := "updated"
	if out.Created {
		verb, res.Created = "created", true
	}
	res.Message = fmt.Sprintf("WordPress user %d sent to ActiveCampaign: contact %s %s", ev.UserID, out.ContactID, verb)
	if r.Mapper.ContactIDMetaKey != "" && out.ContactID != s.ContactID {
		err := r.Users.SetContactID(ctx, ev.UserID, r.Mapper.ContactIDMetaKey, out.ContactID)
		switch {
		case errors.Is(err, wordpress.ErrNotFound):
			res.Warnings = append(res.Warnings, "user "+strconv.FormatInt(ev.UserID, 10)+" deleted before its contact id was stored")
		case err != nil:
			return res, err
		default:
			res.Changes = append(res.Changes, "meta:"+r.Mapper.ContactIDMetaKey)
		}
	}
	return res, nil
}

// StoreEchoes adapts store.Echoes to Echoes.
type StoreEchoes struct{ *store.Echoes }

// Begin implements Echoes.
func (e StoreEchoes) Begin(ctx context.Context, contactID string) (EchoWrite, error) {
	return e.Echoes.Begin(ctx, contactID)
}
