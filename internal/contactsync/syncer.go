package contactsync

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Syncer applies the rules. Its fields are its dependencies; Rand defaults to
// crypto/rand.
type Syncer struct {
	Contacts  ContactSource
	Users     UserStore
	Passwords PasswordStore
	Policy    Policy
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
func (s *Syncer) Run(ctx context.Context, req Request) (Result, error) {
	if req.ContactID == "" {
		return Result{}, permanentf("no contact id")
	}
	switch req.Action {
	case ActionUpdateTags:
		return s.updateTags(ctx, req)
	case ActionUpdate:
		return s.update(ctx, req)
	case ActionAdd:
		return s.add(ctx, req)
	}
	return Result{}, permanentf("unknown action %q", req.Action)
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

// findByEmail returns the user with exactly this email, or nil.
func (s *Syncer) findByEmail(ctx context.Context, email string) (*User, error) {
	if email == "" {
		return nil, nil
	}
	u, err := s.Users.FindByEmail(ctx, email)
	if errors.Is(err, ErrUserNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find user by email: %w", err)
	}
	return u, nil
}

func (s *Syncer) updateTags(ctx context.Context, req Request) (Result, error) {
	u, err := s.findLinked(ctx, req.ContactID)
	if err != nil {
		return Result{}, err
	}
	if u == nil {
		if u, err = s.findByEmail(ctx, req.EmailHint); err != nil {
			return Result{}, err
		}
		if u == nil {
			return ignored("no WordPress user is linked to contact %s", req.ContactID), nil
		}
	}
	tags, err := s.tags(ctx, req)
	if err != nil {
		return Result{}, err
	}
	var ch Change
	s.setLink(&ch, u, req.ContactID)
	s.setTags(&ch, u, tags)
	return s.apply(ctx, u, ch, nil)
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

func (s *Syncer) update(ctx context.Context, req Request) (Result, error) {
	linked, err := s.findLinked(ctx, req.ContactID)
	if err != nil {
		return Result{}, err
	}
	if linked == nil && req.EmailHint != "" {
		// Most contacts a bulk edit touches have no WordPress user: with the
		// payload's email, find that out without spending AC's budget.
		if linked, err = s.findByEmail(ctx, req.EmailHint); err != nil {
			return Result{}, err
		}
		if linked == nil {
			return ignored("no WordPress user is linked to contact %s or has its email", req.ContactID), nil
		}
	}
	c, relinked, err := s.loadContact(ctx, req.ContactID, linked)
	if err != nil {
		return Result{}, err
	}
	u := linked
	if u == nil {
		if u, err = s.findByEmail(ctx, c.Email); err != nil {
			return Result{}, err
		}
		if u == nil {
			return ignored("no WordPress user is linked to contact %s or has its email", req.ContactID), nil
		}
	}
	return s.refresh(ctx, u, c, req, relinked)
}

// refresh writes the contact's mapped fields, tags, link and an allowed role
// to an existing user in one request.
func (s *Syncer) refresh(ctx context.Context, u *User, c *Contact, req Request, relinked bool) (Result, error) {
	values, err := s.mappedValues(ctx, c)
	if err != nil {
		return Result{}, err
	}
	if relinked {
		req.HasTags = false // the payload's tags belong to the old id
	}
	tags, err := s.tags(ctx, Request{ContactID: c.ID, HasTags: req.HasTags, Tags: req.Tags})
	if err != nil {
		return Result{}, err
	}
	var ch Change
	var warnings []string
	s.setLink(&ch, u, c.ID)
	s.setTags(&ch, u, tags)
	protected := s.Policy.protected(u)
	for _, m := range s.Policy.FieldMap {
		v, ok := values[m.Target]
		if !ok {
			continue
		}
		switch {
		case m.Target == "user_login" || m.Target == "role":
			// logins are immutable; the role is handled below
		case IsCoreField(m.Target):
			if protected {
				continue
			}
			if m.Target == "user_email" && !validEmail(v) {
				warnings = append(warnings, fmt.Sprintf("mapped email of contact %s is not valid, left unchanged", c.ID))
				continue
			}
			if m.Target == "user_pass" || currentField(u, m.Target) != v {
				setField(&ch, m.Target, v)
			}
		default:
			setMeta(&ch, u, m.Target, metaValue(v))
		}
	}
	role := values["role"]
	if role == "" {
		role = req.Role
	}
	if role = roleSlug(role); role != "" {
		switch {
		case protected:
			warnings = append(warnings, fmt.Sprintf("user %d holds a role outside ALLOWED_ROLES, role %q not applied", u.ID, role))
		case !s.Policy.allows(role):
			warnings = append(warnings, fmt.Sprintf("role %q is not in ALLOWED_ROLES, not applied", role))
		case !slices.Equal(u.Roles, []string{role}):
			ch.Roles = []string{role}
		}
	}
	res, err := s.apply(ctx, u, ch, warnings)
	if err != nil {
		return Result{}, err
	}
	if relinked {
		res.Changes = append(res.Changes, "relinked")
		res.Message += fmt.Sprintf("; contact %s was gone from ActiveCampaign, relinked to %s by email", req.ContactID, c.ID)
	}
	return res, nil
}
