package outbox

import (
	"context"
	"errors"
	"fmt"

	"github.com/wpbridge/wpbridge/activecampaign"
)

// AC is what an Applier needs of ActiveCampaign; NewAC adapts an
// *activecampaign.Client.
type AC interface {
	Sync(ctx context.Context, cs activecampaign.ContactSync) (*activecampaign.SyncResult, error)
	Update(ctx context.Context, id string, cs activecampaign.ContactSync) (*activecampaign.Contact, error)
	EnsureTag(ctx context.Context, name string) (string, error)
	AddTag(ctx context.Context, contactID, tagID string) (string, error)
}

type clientAC struct{ c *activecampaign.Client }

// NewAC returns c as an AC.
func NewAC(c *activecampaign.Client) AC { return clientAC{c} }

func (a clientAC) Sync(ctx context.Context, cs activecampaign.ContactSync) (*activecampaign.SyncResult, error) {
	return a.c.Contacts.Sync(ctx, cs)
}

func (a clientAC) Update(ctx context.Context, id string, cs activecampaign.ContactSync) (*activecampaign.Contact, error) {
	return a.c.Contacts.Update(ctx, id, cs)
}

func (a clientAC) EnsureTag(ctx context.Context, name string) (string, error) {
	return a.c.Tags.Ensure(ctx, name)
}

func (a clientAC) AddTag(ctx context.Context, contactID, tagID string) (string, error) {
	return a.c.Contacts.AddTag(ctx, contactID, tagID)
}

// Result is what Apply did.
type Result struct {
	ContactID string // store it in the user's CONTACT_ID_META_KEY (a write the outbox does not record)
	Created   bool   // AC made a new contact
}

// Apply sends s to AC: one POST /contact/sync by email; for an email change
// of a user who carries a contact id, PUT /contacts/{id} instead (a sync by
// email if that contact is gone); then each tag of s, found or created and
// added. Running it again after a failure is safe: each step is idempotent.
// Errors are *activecampaign.Error where AC answered: Temporary() says
// whether to retry.
func Apply(ctx context.Context, ac AC, s *Sync) (*Result, error) {
	res := &Result{}
	if s.OldEmail != "" && s.ContactID != "" {
		c, err := ac.Update(ctx, s.ContactID, s.Contact)
		switch {
		case err == nil:
			res.ContactID = c.ID
		case !errors.Is(err, activecampaign.ErrNotFound):
			return res, fmt.Errorf("outbox: update contact %s: %w", s.ContactID, err)
		}
	}
	if res.ContactID == "" {
		r, err := ac.Sync(ctx, s.Contact)
		if err != nil {
			return res, fmt.Errorf("outbox: sync contact: %w", err)
		}
		res.ContactID, res.Created = r.Contact.ID, r.Created
	}
	for _, name := range s.Tags {
		tagID, err := ac.EnsureTag(ctx, name)
		if err != nil {
			return res, fmt.Errorf("outbox: tag %q: %w", name, err)
		}
		if _, err := ac.AddTag(ctx, res.ContactID, tagID); err != nil {
			return res, fmt.Errorf("outbox: add tag %q to contact %s: %w", name, res.ContactID, err)
		}
	}
	return res, nil
}
