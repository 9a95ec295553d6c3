package outbox

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/wordpress"
)

// ErrNothingToSync is returned by Build for an event that makes no AC write:
// a deleted WordPress user leaves its AC contact as it is (AC keeps the
// history; deleting or unsubscribing is the site owner's call, in AC).
var ErrNothingToSync = errors.New("outbox: the event writes nothing to AC")

// FieldResolver finds a custom field by reference ("12" or "%PERSTAG%");
// *activecampaign.FieldsService is one (cached: no request once warm).
type FieldResolver interface {
	Resolve(ctx context.Context, ref string) (*activecampaign.Field, error)
}

// Mapper builds AC writes from outbox events.
type Mapper struct {
	// FieldMap is FIELD_MAP; read in reverse: the WordPress value of each
	// target goes to its AC source field. Targets user_pass and role are
	// never sent; a source email is skipped (the contact's email is always
	// the user's) and so is orgname (contact/sync cannot set it). When two
	// targets share a source, the first in FIELD_MAP order that the user
	// has wins.
	FieldMap []contactsync.Mapping
	// RegistrationTags are REGISTRATION_TAGS, added on a sign-up.
	RegistrationTags []string
	// ContactIDMetaKey is CONTACT_ID_META_KEY: the contact id an event
	// carries there (the plugin records it when enabled with
	// config.OutboxMetaKeys) lets an email change update that contact.
	ContactIDMetaKey string
	// Fields resolves %PERSTAG% sources; needed only when FieldMap has one.
	Fields FieldResolver
}

// Sync is what one event becomes in AC.
type Sync struct {
	Key     string              // Key(event): the event's name for good
	Type    wordpress.EventType // register or update
	UserID  int64               // the WordPress user: store the contact id in its CONTACT_ID_META_KEY
	Contact activecampaign.ContactSync
	// Tags are tag names to add to the contact (REGISTRATION_TAGS on a sign-up).
	Tags []string
	// ContactID is the AC contact id the user carries, if any.
	ContactID string
	// OldEmail is set when the event changed the user's email: with a
	// ContactID, the Applier updates that contact's email instead of
	// syncing by the new one (which would make a second contact).
	OldEmail string
}

// Key returns the name of ev for good: its table's epoch and its id. A Store
// deduplicates by it.
func Key(ev wordpress.Event) string {
	return fmt.Sprintf("%s:%d", ev.Epoch, ev.ID)
}

// Build returns the AC write of ev: ErrNothingToSync for a delete, an error
// for an event without an email or a %PERSTAG% AC does not know (it wraps
// activecampaign.ErrNotFound: permanent until FIELD_MAP or AC changes).
func (m *Mapper) Build(ctx context.Context, ev wordpress.Event) (*Sync, error) {
	switch ev.Type {
	case wordpress.EventDelete:
		return nil, ErrNothingToSync
	case wordpress.EventRegister, wordpress.EventUpdate:
	default:
		return nil, fmt.Errorf("outbox: event %d has the unknown type %q", ev.ID, ev.Type)
	}
	email := strings.TrimSpace(ev.User.Email)
	if email == "" {
		return nil, fmt.Errorf("outbox: event %d: user %d has no email", ev.ID, ev.UserID)
	}
	s := &Sync{Key: Key(ev), Type: ev.Type, UserID: ev.UserID, Contact: activecampaign.ContactSync{Email: email}}
	if ev.User.OldEmail != "" && !strings.EqualFold(ev.User.OldEmail, email) {
		s.OldEmail = ev.User.OldEmail
	}
	if m.ContactIDMetaKey != "" {
		if id, ok := ev.User.Field(m.ContactIDMetaKey); ok && activecampaign.ValidID(id) {
			s.ContactID = id
		}
	}
	set := map[string]bool{} // AC fields already given a value
	for _, fm := range m.FieldMap {
		if fm.Target == "user_pass" || fm.Target == "role" || fm.Source == "email" || fm.Source == "orgname" {
			continue
		}
		v, ok := ev.User.Field(fm.Target)
		if !ok {
			continue // a meta key the user does not have: leave the AC field as it is
		}
		field, err := m.acField(ctx, fm.Source)
		if err != nil {
			return nil, fmt.Errorf("outbox: event %d: FIELD_MAP %s=%s: %w", ev.ID, fm.Target, fm.Source, err)
		}
		if set[field] {
			continue
		}
		set[field] = true
		switch field {
		case "firstName":
			s.Contact.FirstName = activecampaign.String(v)
		case "lastName":
			s.Contact.LastName = activecampaign.String(v)
		case "phone":
			s.Contact.Phone = activecampaign.String(v)
		default:
			if s.Contact.FieldValues == nil {
				s.Contact.FieldValues = map[string]string{}
			}
			s.Contact.FieldValues[field] = v
		}
	}
	if ev.Type == wordpress.EventRegister {
		s.Tags = append([]string(nil), m.RegistrationTags...)
	}
	return s, nil
}

// acField returns the AC side of a normalized FIELD_MAP source: firstName,
// lastName, phone, or a custom field id.
func (m *Mapper) acField(ctx context.Context, source string) (string, error) {
	switch {
	case source == "firstName" || source == "lastName" || source == "phone":
		return source, nil
	case strings.HasPrefix(source, "field:"):
		return strings.TrimPrefix(source, "field:"), nil
	case strings.HasPrefix(source, "%"):
		if m.Fields == nil {
			return "", errors.New("no field resolver for a personalization tag")
		}
		f, err := m.Fields.Resolve(ctx, source)
		if err != nil {
			return "", err
		}
		return f.ID, nil
	}
	return "", fmt.Errorf("unknown source %q", source)
}
