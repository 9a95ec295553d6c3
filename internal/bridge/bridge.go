// Package bridge adapts the ActiveCampaign and WordPress API clients to the
// interfaces the rules (contactsync) and the queue declare: it maps wire
// types to rule types and client errors to failure classes.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/queue"
	"github.com/wpbridge/wpbridge/wordpress"
)

// Contacts implements contactsync.ContactSource over the AC client. OnWrite,
// when set, is told about every contact wpbridge writes to (echo detection).
type Contacts struct {
	AC      *activecampaign.Client
	OnWrite func(ctx context.Context, contactID string) error
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
	if s.OnWrite != nil {
		// Recorded before the write: the echo webhook can arrive before the
		// PUT's answer does.
		if err := s.OnWrite(ctx, contactID); err != nil {
			return err
		}
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

// Users implements contactsync.UserStore over the WordPress client.
type Users struct {
	WP *wordpress.Client
}

var _ contactsync.UserStore = (*Users)(nil)

// FindByMeta finds the user whose meta key holds value.
func (s *Users) FindByMeta(ctx context.Context, key, value string) (*contactsync.User, error) {
	u, err := s.WP.Users.FindByMeta(ctx, key, value)
	if err != nil {
		return nil, notFound(err, wordpress.ErrNotFound, contactsync.ErrUserNotFound)
	}
	return toUser(u), nil
}

// FindByEmail finds the user with exactly this email.
func (s *Users) FindByEmail(ctx context.Context, email string) (*contactsync.User, error) {
	u, err := s.WP.Users.FindByEmail(ctx, email)
	if err != nil {
		return nil, notFound(err, wordpress.ErrNotFound, contactsync.ErrUserNotFound)
	}
	return toUser(u), nil
}

// Create creates a user in one request.
func (s *Users) Create(ctx context.Context, nu contactsync.NewUser) (*contactsync.User, error) {
	req := toRequest(nu.Change)
	req.Username = nu.Login
	u, err := s.WP.Users.Create(ctx, req)
	switch {
	case errors.Is(err, wordpress.ErrExistingLogin):
		return nil, fmt.Errorf("%w: %w", contactsync.ErrLoginTaken, err)
	case errors.Is(err, wordpress.ErrExistingEmail):
		return nil, fmt.Errorf("%w: %w", contactsync.ErrEmailTaken, err)
	case err != nil:
		return nil, err
	}
	return toUser(u), nil
}

// Update writes fields, roles and meta of a user in one request.
func (s *Users) Update(ctx context.Context, id int64, ch contactsync.Change) (*contactsync.User, error) {
	u, err := s.WP.Users.Update(ctx, id, toRequest(ch))
	if errors.Is(err, wordpress.ErrExistingEmail) {
		return nil, fmt.Errorf("%w: %w", contactsync.ErrEmailTaken, err)
	}
	if err != nil {
		return nil, err
	}
	return toUser(u), nil
}

func toUser(u *wordpress.User) *contactsync.User {
	return &contactsync.User{
		ID: u.ID, Login: u.Username, Email: u.Email, Roles: u.Roles, Meta: u.Meta,
		Fields: map[string]string{
			"user_email": u.Email, "first_name": u.FirstName, "last_name": u.LastName,
			"display_name": u.Name, "nickname": u.Nickname, "description": u.Description, "user_url": u.URL,
		},
	}
}

func toRequest(ch contactsync.Change) wordpress.UserRequest {
	f := ch.Fields
	return wordpress.UserRequest{
		Email: f["user_email"], Password: f["user_pass"], FirstName: f["first_name"], LastName: f["last_name"],
		Name: f["display_name"], Nickname: f["nickname"], Description: f["description"], URL: f["user_url"],
		Roles: ch.Roles, Meta: ch.Meta, SendNotification: ch.SendNotification,
	}
}

// Classify maps an error from a round of work to how the queue handles it.
func Classify(err error) (queue.Class, time.Duration, string) {
	var acErr *activecampaign.Error
	if errors.As(err, &acErr) {
		switch {
		case errors.Is(acErr, activecampaign.ErrUnauthorized):
			return queue.AuthFailed, 0, "ActiveCampaign (AC_API_KEY)"
		case errors.Is(acErr, activecampaign.ErrRateLimited):
			return queue.Throttled, max(acErr.RetryAfter, time.Second), ""
		case acErr.Temporary():
			return queue.Temporary, 0, ""
		case acErr.StatusCode >= 400 && acErr.StatusCode < 500:
			return queue.Permanent, 0, ""
		}
		return queue.Temporary, 0, ""
	}
	var wpErr *wordpress.Error
	if errors.As(err, &wpErr) {
		switch {
		case errors.Is(wpErr, wordpress.ErrUnauthorized):
			return queue.AuthFailed, 0, "WordPress (WP_USERNAME / WP_APP_PASSWORD)"
		case errors.Is(wpErr, wordpress.ErrPluginMissing):
			return queue.AuthFailed, 0, "WordPress (companion plugin wpbridge.php missing)"
		case wpErr.StatusCode == 429:
			return queue.Throttled, 5 * time.Second, ""
		case wpErr.Temporary():
			return queue.Temporary, 0, ""
		case wpErr.StatusCode >= 400 && wpErr.StatusCode < 500:
			return queue.Permanent, 0, ""
		}
	}
	// Arguments the clients refused before sending anything: a retry sends
	// the same arguments again.
	if errors.Is(err, activecampaign.ErrInvalidArgument) || errors.Is(err, wordpress.ErrInvalid) {
		return queue.Permanent, 0, ""
	}
	return queue.Temporary, 0, ""
}
