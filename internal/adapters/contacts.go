// Package adapters adapts the ActiveCampaign and WordPress API clients to the
// interfaces the rules (contactsync) and the queue declare: it maps wire
// types to rule types and client errors to failure classes.
package adapters

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/store"
)

// Echoes records the contacts wpbridge writes to, so that the update
// webhooks AC sends back for those writes are known as echoes
// (store.Echoes): a write is recorded as in flight before it is sent, then
// confirmed or cancelled.
type Echoes interface {
	Begin(ctx context.Context, contactID string) (EchoWrite, error)
}

// EchoWrite is one recorded write in flight (store.EchoWrite).
type EchoWrite interface {
	Confirm(ctx context.Context) error
	Cancel(ctx context.Context) error
}

// StoreEchoes adapts store.Echoes to Echoes.
type StoreEchoes struct{ *store.Echoes }

// Begin implements Echoes.
func (e StoreEchoes) Begin(ctx context.Context, contactID string) (EchoWrite, error) {
	return e.Echoes.Begin(ctx, contactID)
}

// settleTimeout bounds confirming or cancelling a write's echo record, which
// happens even when the round's context has ended.
const settleTimeout = 10 * time.Second

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
		return "", notFound(err, activecampaign.ErrNotFound, contactsync.ErrFieldNotFound)
	}
	return f.ID, nil
}

// SetField writes one custom field value of a contact. The write is recorded
// as in flight before it is sent, because the echo webhook can arrive before
// the PUT's answer does; the record is confirmed once the PUT succeeded and
// removed when it failed (even when the failure leaves it unknown whether AC
// applied the write: an update worked twice costs a round, an update dropped
// as an echo loses a change).
func (s *Contacts) SetField(ctx context.Context, contactID, fieldID, value string) error {
	w, err := s.Echoes.Begin(ctx, contactID)
	if err != nil {
		return err
	}
	putErr := s.AC.Contacts.SetFieldValues(ctx, contactID, map[string]string{fieldID: value})
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	if putErr != nil {
		if err := w.Cancel(sctx); err != nil {
			// The record then expires with the window, as any other.
			return errors.Join(putErr, err)
		}
		return putErr
	}
	// The value is in AC: the round goes on even if the confirmation is not
	// stored, since the in-flight record then stands as it is, dated from
	// Begin, and still makes the echo known.
	_ = w.Confirm(sctx) //nolint:errcheck // see above
	return nil
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
