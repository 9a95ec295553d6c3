package contactsync

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
)

// Syncer applies the rules. Its fields are its dependencies; Rand defaults to
// crypto/rand. Without Roles no role counts as admin-level but administrator
// (tests); production always sets it. With Seen, a round for a contact whose
// user was seen before writes to it in one request (see Seen).
type Syncer struct {
	Contacts  ContactSource
	Users     UserStore
	Passwords PasswordStore
	Roles     RoleSource
	Seen      *Seen
	Policy    Policy
	ToAC      ToAC // the rounds of WordPress events (SYNC_TO_AC); nil: they are ignored
	Rand      io.Reader
}

func (s *Syncer) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

// Run carries out req and says what it did. Errors wrapping ErrPermanent can
// never succeed; any other error may pass on a retry. Run is idempotent: a
// second run after a crash finds the user the first one created.
//
// When a write finds the user changed since it was read (ErrStale), or the
// remembered user gone, nothing was written yet: the run starts over once,
// reading the user afresh (ActiveCampaign is not asked again).
func (s *Syncer) Run(ctx context.Context, req Request) (Result, error) {
	if req.ContactID == "" {
		return Result{}, permanentf("no contact id")
	}
	run := *s
	run.Contacts = newRunContacts(s.Contacts)
	remembered := s.Seen.has(req.ContactID)
	res, err := run.dispatch(ctx, req)
	if errors.Is(err, ErrStale) || (remembered && errors.Is(err, ErrUserNotFound)) {
		s.Seen.forget(req.ContactID)
		res, err = run.dispatch(ctx, req)
	}
	return res, err
}

func (s *Syncer) dispatch(ctx context.Context, req Request) (Result, error) {
	switch req.Action {
	case ActionUpdateTags:
		return s.updateTags(ctx, req)
	case ActionUpdate:
		return s.update(ctx, req)
	case ActionAdd:
		return s.add(ctx, req)
	case ActionRemoveAccess:
		return s.removeAccess(ctx, req)
	case ActionPasswordReset:
		return s.passwordReset(ctx, req)
	case ActionWordPressSync:
		return s.toAC(ctx, req)
	}
	return Result{}, permanentf("unknown action %q", req.Action)
}

// linked returns the user linked to the contact id as remembered (Seen),
// else as WordPress has it, or nil. Only rounds whose every write carries
// the user's State may use a remembered user.
func (s *Syncer) linked(ctx context.Context, contactID string) (*User, error) {
	if u := s.Seen.get(contactID); u != nil {
		return u, nil
	}
	return s.findLinked(ctx, contactID)
}

// findLinked returns the user linked to the contact id, or nil.
func (s *Syncer) findLinked(ctx context.Context, contactID string) (*User, error) {
	u, err := s.Users.FindByMeta(ctx, s.Policy.ContactIDMetaKey, contactID)
	if errors.Is(err, ErrUserNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find user by contact id %s: %w", contactID, err)
	}
	return u, nil
}

// findByEmail returns the user with exactly this email (but for the case of
// ASCII letters), or nil. An address WordPress would refuse finds nobody.
func (s *Syncer) findByEmail(ctx context.Context, email string) (*User, error) {
	if !validEmail(email) {
		return nil, nil
	}
	u, err := s.Users.FindByEmail(ctx, email)
	if errors.Is(err, ErrUserNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find user by email: %w", err)
	}
	if !sameEmail(u.Email, email) {
		return nil, nil
	}
	return u, nil
}

// tags returns the contact's tag names: the payload's, else AC's.
func (s *Syncer) tags(ctx context.Context, req Request) ([]string, error) {
	if req.HasTags {
		return req.Tags, nil
	}
	names, err := s.Contacts.TagNames(ctx, req.ContactID)
	if err != nil {
		return nil, fmt.Errorf("load tags of contact %s: %w", req.ContactID, err)
	}
	return names, nil
}

// loadContact loads the contact. When AC no longer knows the id (merged or
// deleted) and a user is linked to it, the contact is looked up again by that
// user's email; relinked reports that.
func (s *Syncer) loadContact(ctx context.Context, id string, linked *User) (c *Contact, relinked bool, err error) {
	c, err = s.Contacts.Contact(ctx, id)
	if err == nil {
		return c, false, nil
	}
	if !errors.Is(err, ErrContactNotFound) {
		return nil, false, fmt.Errorf("load contact %s: %w", id, err)
	}
	if linked == nil || linked.Email == "" {
		return nil, false, permanentf("contact %s not found in ActiveCampaign (deleted or merged)", id)
	}
	c, err = s.Contacts.ContactByEmail(ctx, linked.Email)
	if errors.Is(err, ErrContactNotFound) {
		return nil, false, permanentf("contact %s not found in ActiveCampaign (deleted or merged), and no contact has the linked user's email", id)
	}
	if err != nil {
		return nil, false, fmt.Errorf("look up contact by email after %s was not found: %w", id, err)
	}
	full, err := s.Contacts.Contact(ctx, c.ID)
	if err != nil {
		return nil, false, fmt.Errorf("load contact %s: %w", c.ID, err)
	}
	return full, true, nil
}
