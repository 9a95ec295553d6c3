package contactsync

// update and update_tags: write a contact's fields, tags and role to the
// user already linked to it (or, unlinked, the user with the contact's email
// in AC: the payload's email only ever saves asking AC, see unlinked).

import (
	"context"
	"fmt"
)

func (s *Syncer) update(ctx context.Context, req Request) (Result, error) {
	linked, err := s.linked(ctx, req.ContactID)
	if err != nil {
		return Result{}, err
	}
	if linked != nil {
		s.prefetchTags(ctx, req)
		c, relinked, err := s.loadContact(ctx, req.ContactID, linked)
		if err != nil {
			return Result{}, err
		}
		return s.refresh(ctx, linked, c, req, relinked)
	}
	c, u, res, err := s.unlinked(ctx, req)
	if err != nil || u == nil {
		return res, err
	}
	return s.refresh(ctx, u, c, req, false)
}

// unlinked finds the user for a contact no user is linked to: the one whose
// email equals the contact's email in AC. The request's email is a hint, never
// an identity: when no user has it the request is ignored without asking AC
// (most contacts a bulk edit touches have no WordPress user); when a user has
// it, that user is taken only if AC gives the contact the same email. u is nil
// when no user qualifies; res then says so, in the same words whether or not
// a user had the request's email (the answer tells nothing about accounts).
func (s *Syncer) unlinked(ctx context.Context, req Request) (c *Contact, u *User, res Result, err error) {
	none := ignored("no WordPress user is linked to contact %s or has its email in ActiveCampaign", req.ContactID)
	if req.EmailHint != "" {
		if u, err = s.findByEmail(ctx, req.EmailHint); err != nil {
			return nil, nil, Result{}, err
		}
		if u == nil {
			return nil, nil, none, nil
		}
	}
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
		return nil, nil, none, nil
	}
	return c, u, Result{}, nil
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
	s.setLink(&ch, u, c.ID)
	s.setTags(&ch, u, tags)
	warnings, err := s.setManaged(ctx, &ch, u, c, values, req.Role, req.Action == ActionAdd || req.Action == ActionPasswordReset)
	if err != nil {
		return Result{}, err
	}
	tw, err := s.setTagRoles(ctx, &ch, u, tags)
	if err != nil {
		return Result{}, err
	}
	warnings = append(warnings, tw...)
	s.setHooks(&ch, req.Action, c.ID, tags, values)
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
	u, err := s.linked(ctx, req.ContactID)
	if err != nil {
		return Result{}, err
	}
	if u == nil {
		if req.EmailHint == "" {
			return ignored("no WordPress user is linked to contact %s", req.ContactID), nil
		}
		var res Result
		if _, u, res, err = s.unlinked(ctx, req); err != nil || u == nil {
			return res, err
		}
	}
	tags, err := s.tags(ctx, req)
	if err != nil {
		return Result{}, err
	}
	var ch Change
	s.setLink(&ch, u, req.ContactID)
	s.setTags(&ch, u, tags)
	warnings, err := s.setTagRoles(ctx, &ch, u, tags)
	if err != nil {
		return Result{}, err
	}
	s.setHooks(&ch, ActionUpdateTags, req.ContactID, tags, nil)
	return s.apply(ctx, req.ContactID, u, ch, warnings)
}
