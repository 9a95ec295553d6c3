package contactsync

// update and update_tags: write a contact's fields, tags and role to the
// user already linked to it (or, unlinked, the user with the contact's email
// in AC: the payload's email only ever saves asking AC, see unlinked).
//
// A contact whose user was seen before (Seen) takes one WordPress request:
// the write, made only while the user is as remembered. A contact not seen
// yet takes one too when its user is as the rules assume (cold.go): the
// find and the write go together. Otherwise the user is found first (one
// request for the contact id and the payload's email together), then written.

import (
	"context"
	"fmt"
)

func (s *Syncer) update(ctx context.Context, req Request) (Result, error) {
	if u := s.Seen.get(req.ContactID); u != nil {
		return s.updateLinked(ctx, u, req)
	}
	// Without a payload email the contact is needed whatever WordPress
	// holds; with one, asking AC first may be for nothing (most contacts a
	// bulk edit touches have no user), so only while nothing waits for AC.
	if req.EmailHint == "" || req.Idle {
		if res, ok, err := s.updateCold(ctx, req); ok || err != nil {
			return res, err
		}
	}
	f, err := s.find(ctx, req.ContactID, req.EmailHint)
	if err != nil {
		return Result{}, err
	}
	if f.By == FoundByContact {
		return s.updateLinked(ctx, f.User, req)
	}
	c, u, res, err := s.unlinked(ctx, req, f.User)
	if err != nil || u == nil {
		return res, err
	}
	return s.refresh(ctx, u, c, req, false)
}

// updateLinked writes the contact to the user linked to it.
func (s *Syncer) updateLinked(ctx context.Context, linked *User, req Request) (Result, error) {
	s.prefetchTags(ctx, req)
	c, relinked, err := s.loadContact(ctx, req.ContactID, linked)
	if err != nil {
		return Result{}, err
	}
	return s.refresh(ctx, linked, c, req, relinked)
}

// find asks WordPress, in one request, for the user linked to the contact
// id, else the user with the payload's email hint (when there is one).
func (s *Syncer) find(ctx context.Context, contactID, hint string) (Found, error) {
	l := Lookup{Key: s.Policy.ContactIDMetaKey, ContactID: contactID}
	if validEmail(hint) {
		l.Email = hint
	}
	f, err := s.Users.Lookup(ctx, l)
	if err != nil {
		return Found{}, fmt.Errorf("find user of contact %s: %w", contactID, err)
	}
	return f, nil
}

// noUser is the answer for a contact no user qualifies for; the same words
// whether or not a user had the request's email (the answer tells nothing
// about accounts).
func noUser(contactID string) Result {
	return ignored("no WordPress user is linked to contact %s or has its email in ActiveCampaign", contactID)
}

// unlinked finds the user for a contact no user is linked to: the one whose
// email equals the contact's email in AC. byHint is the user with the
// request's email, found with the link (nil: none, or no email in the
// request). The request's email is a hint, never an identity: when no user
// has it the request is ignored without asking AC (most contacts a bulk
// edit touches have no WordPress user); when a user has it, that user is
// taken only if AC gives the contact the same email. u is nil when no user
// qualifies; res then says so.
func (s *Syncer) unlinked(ctx context.Context, req Request, byHint *User) (c *Contact, u *User, res Result, err error) {
	if req.EmailHint != "" && byHint == nil {
		return nil, nil, noUser(req.ContactID), nil
	}
	u = byHint
	s.prefetchTags(ctx, req)
	if c, _, err = s.loadContact(ctx, req.ContactID, nil); err != nil {
		return nil, nil, Result{}, err
	}
	if u == nil {
		if u, err = s.findByEmail(ctx, c.Email); err != nil {
			return nil, nil, Result{}, err
		}
	}
	if u == nil || !sameEmail(u.Email, c.Email) {
		return nil, nil, noUser(req.ContactID), nil
	}
	return c, u, Result{}, nil
}

// refresh writes the contact's mapped fields, tags, link and an allowed role
// to an existing user in one request.
func (s *Syncer) refresh(ctx context.Context, u *User, c *Contact, req Request, relinked bool) (Result, error) {
	ch, warnings, err := s.planRefresh(ctx, u, c, req, relinked)
	if err != nil {
		return Result{}, err
	}
	res, err := s.apply(ctx, c.ID, u, ch, warnings)
	if err != nil {
		return Result{}, err
	}
	if relinked {
		s.Seen.forget(req.ContactID) // the user now belongs to c.ID
		res.Changes = append(res.Changes, "relinked")
		res.Message += fmt.Sprintf("; contact %s was gone from ActiveCampaign, relinked to %s by email", req.ContactID, c.ID)
	}
	return res, nil
}

// planRefresh is refresh's change to u, and its warnings.
func (s *Syncer) planRefresh(ctx context.Context, u *User, c *Contact, req Request, relinked bool) (Change, []string, error) {
	values, err := s.mappedValues(ctx, c)
	if err != nil {
		return Change{}, nil, err
	}
	if relinked {
		req.HasTags = false // the payload's tags belong to the old id
	}
	tags, err := s.tags(ctx, Request{ContactID: c.ID, HasTags: req.HasTags, Tags: req.Tags})
	if err != nil {
		return Change{}, nil, err
	}
	var ch Change
	s.setLink(&ch, u, c.ID)
	s.setTags(&ch, u, tags)
	warnings, err := s.setManaged(ctx, &ch, u, c, values, req.Role, req.Action == ActionAdd || req.Action == ActionPasswordReset)
	if err != nil {
		return Change{}, nil, err
	}
	tw, err := s.setTagRoles(ctx, &ch, u, tags)
	if err != nil {
		return Change{}, nil, err
	}
	s.setHooks(&ch, req.Action, c.ID, tags, values)
	return ch, append(warnings, tw...), nil
}

// setMapped records the writes of the mapped values that differ from the
// user's: core fields (not for an unmanaged user; never the login or role)
// and meta. It returns warnings about values it left alone, and whether it
// left a core field alone because the user is not managed.
func (s *Syncer) setMapped(ch *Change, u *User, c *Contact, values map[string]string, unmanaged bool) (warnings []string, skipped bool) {
	for _, m := range s.Policy.FieldMap {
		v, ok := values[m.Target]
		if !ok {
			continue
		}
		switch {
		case m.Target == "user_login" || m.Target == "role":
			// logins are immutable; the role is handled by setRole
		case IsCoreField(m.Target):
			if unmanaged {
				skipped = skipped || m.Target == "user_pass" || currentField(u, m.Target) != v
				continue
			}
			if m.Target == "user_email" && !validEmail(v) {
				warnings = append(warnings, fmt.Sprintf("mapped email of contact %s is not valid, left unchanged", c.ID))
				continue
			}
			if m.Target == "user_pass" || currentField(u, m.Target) != v {
				setField(ch, m.Target, v)
			}
		default:
			setMeta(ch, u, m.Target, metaValue(v))
		}
	}
	return warnings, skipped
}

func (s *Syncer) updateTags(ctx context.Context, req Request) (Result, error) {
	if u := s.Seen.get(req.ContactID); u != nil {
		return s.writeTags(ctx, u, req)
	}
	// Tags from AC are worth asking for ahead only while nothing waits for AC.
	if req.HasTags || req.Idle {
		if res, ok, err := s.updateTagsCold(ctx, req); ok || err != nil {
			return res, err
		}
	}
	f, err := s.find(ctx, req.ContactID, req.EmailHint)
	if err != nil {
		return Result{}, err
	}
	return s.tagsOfFound(ctx, req, f)
}

// tagsOfFound writes the tags to the user find (or Lookup) answered: the
// linked one, else the one with the request's email if AC agrees.
func (s *Syncer) tagsOfFound(ctx context.Context, req Request, f Found) (Result, error) {
	if f.By == FoundByContact {
		return s.writeTags(ctx, f.User, req)
	}
	if req.EmailHint == "" {
		return ignored("no WordPress user is linked to contact %s", req.ContactID), nil
	}
	_, u, res, err := s.unlinked(ctx, req, f.User)
	if err != nil || u == nil {
		return res, err
	}
	return s.writeTags(ctx, u, req)
}

// writeTags writes the contact's tags (the payload's, else AC's) to u.
func (s *Syncer) writeTags(ctx context.Context, u *User, req Request) (Result, error) {
	tags, err := s.tags(ctx, req)
	if err != nil {
		return Result{}, err
	}
	ch, warnings, err := s.planTags(ctx, u, req.ContactID, tags)
	if err != nil {
		return Result{}, err
	}
	return s.apply(ctx, req.ContactID, u, ch, warnings)
}

// planTags is update_tags' change to u: the link, the tags and the roles
// they grant.
func (s *Syncer) planTags(ctx context.Context, u *User, contactID string, tags []string) (Change, []string, error) {
	var ch Change
	s.setLink(&ch, u, contactID)
	s.setTags(&ch, u, tags)
	warnings, err := s.setTagRoles(ctx, &ch, u, tags)
	if err != nil {
		return Change{}, nil, err
	}
	s.setHooks(&ch, ActionUpdateTags, contactID, tags, nil)
	return ch, warnings, nil
}
