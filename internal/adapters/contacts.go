// Package adapters adapts the ActiveCampaign and WordPress API clients to the
// interfaces the rules (contactsync) and the queue declare: it maps wire
// types to rule types and client errors to failure classes.
package adapters

import (
	"context"
	"errors"
	"fmt"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/contactsync"
)

// Echoes records the contacts wpbridge writes to, so that the update
// webhooks AC sends back for those writes are known as echoes (store.Echoes).
type Echoes interface {
	Record(ctx context.Context, contactID string) error
}

// Contacts implements contactsync.ContactSource over the AC client. Both
// fields are required.
type Contacts struct {
	AC     *activecampaign.Client
	Echoes Echoes // told about every contact wpbridge writes to
}

var _ contactsync.ContactSource = (*Contacts)(nil)

// Contact loads a contact with its custom field values.
func (s *Contacts) Contact(ctx context.Context, id string) (*contactsync.Contact, error) {
	c, err := s.AC.Contacts.Get(ctx, id)
	if err != nil {
		return nil, notFound(err, activecampaign.ErrNotFound, contactsync.ErrContactNotFound)
	}
	return toContact(c), nil
}

// ContactByEmail finds a contact by exact email.
func (s *Contacts) ContactByEmail(ctx context.Context, email string) (*contactsync.Contact, error) {
	c, err := s.AC.Contacts.FindByEmail(ctx, email)
	if err != nil {
		return nil, notFound(err, activecampaign.ErrNotFound, contactsync.ErrContactNotFound)
	}
	return toContact(c), nil
}

// TagNames returns the names of the contact's tags.
func (s *Contacts) TagNames(ctx context.Context, contactID string) ([]string, error) {
	return s.AC.Contacts.TagNames(ctx, contactID)
}

// FieldID resolves a field id or %PERSTAG% to the field's id.
func (s *Contacts) FieldID(ctx context.Context, ref string) (string, error) {
	f, err := s.AC.Fields.Resolve(ctx, ref)
	if err != nil {
		return "", notFound(err, activecampaign.ErrNotFound, contactsync.ErrContactNotFound)
	}
	return f.ID, nil
}

// SetField writes one custom field value of a contact.
func (s *Contacts) SetField(ctx context.Context, contactID, fieldID, value string) error {
	// Recorded before the write: the echo webhook can arrive before the
	// PUT's answer does.
	if err := s.Echoes.Record(ctx, contactID); err != nil {
		return err
	}
	return s.AC.Contacts.SetFieldValues(ctx, contactID, map[string]string{fieldID: value})
}

func toContact(c *activecampaign.Contact) *contactsync.Contact {
	return &contactsync.Contact{
		ID: c.ID, Email: c.Email, FirstName: c.FirstName, LastName: c.LastName,
		Phone: c.Phone, Orgname: c.Orgname, Fields: c.FieldValues,
	}
}

// notFound turns the client's not-found error into the rules' one, keeping
// the original in the chain.
func notFound(err, clientNotFound, ruleNotFound error) error {
	if errors.Is(err, clientNotFound) {
		return fmt.Errorf("%w: %w", ruleNotFound, err)
	}
	return err
}
