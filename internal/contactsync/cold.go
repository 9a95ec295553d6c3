package contactsync

// A cold round: the first round of a contact whose user wpbridge has not
// seen (Seen). The rules need the user to decide what to write, and finding
// it is a WordPress request of its own. Most users are alike, though: they
// hold DEFAULT_ROLE and nothing else. So the rules run against such a user
// (guess), and the write goes to WordPress with the find (Lookup.Update),
// to be made only if the user found is of that shape (Shape). The rules read
// nothing else of a user but values they overwrite when they differ, so on
// that condition the write is the one the rules make for the real user;
// the round then describes what it changed from the user as it was found
// (Found.Before). A user of another shape is written in a second request,
// as before.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// unknownTags stands for a guessed user's tags: no contact's tags equal it,
// so the write always sets them (or, for none, deletes them).
var unknownTags = []string{"\x00unknown"}

// guess is the user a cold round assumes, and the shape that must hold for
// its write to be made; ok is false without a DEFAULT_ROLE. (The shape also
// requires no admin-level capability: were DEFAULT_ROLE admin-level, no user
// would have the shape.)
func (s *Syncer) guess() (u *User, shape Shape, ok bool) {
	role := s.Policy.DefaultRole
	if role == "" {
		return nil, Shape{}, false
	}
	u = &User{Roles: []string{role}, Fields: map[string]string{}, Meta: map[string]any{s.Policy.TagsMetaKey: unknownTags}}
	return u, Shape{Roles: []string{role}, MetaAbsent: []string{AccessRemovedMetaKey}}, true
}

// planner is the rules' change to a user, and their warnings.
type planner func(u *User) (Change, []string, error)

// speculate finds the contact's user and writes plan's change for the
// guessed user to it in one request (to a user found by email too, with
// byEmail; email is the address to look for). Found.Written says whether
// the write was made; the result is then the round's.
func (s *Syncer) speculate(ctx context.Context, contactID, email string, byEmail bool, plan planner) (Found, Result, error) {
	guess, shape, ok := s.guess()
	if !ok {
		f, err := s.find(ctx, contactID, email)
		return f, Result{}, err
	}
	ch, _, err := plan(guess)
	if err != nil {
		return Found{}, Result{}, err
	}
	l := Lookup{Key: s.Policy.ContactIDMetaKey, ContactID: contactID, Update: &ch, UpdateByEmail: byEmail, Shape: shape}
	if validEmail(email) {
		l.Email = email
	}
	f, err := s.Users.Lookup(ctx, l)
	if errors.Is(err, ErrEmailTaken) {
		return Found{}, Result{}, permanentf("update the user of contact %s: the new email belongs to another user", contactID)
	}
	if err != nil {
		return Found{}, Result{}, fmt.Errorf("find and update user of contact %s: %w", contactID, err)
	}
	if !f.Written {
		return f, Result{}, nil
	}
	res, err := s.speculated(contactID, f, ch, plan)
	return f, res, err
}

// speculated is the result of a speculative write: what the rules change from
// the user as found, which the write made. A write that differs from the
// rules' (it cannot while the shape holds) is reported as a warning.
func (s *Syncer) speculated(contactID string, f Found, written Change, plan planner) (Result, error) {
	ch, warnings, err := plan(f.Before)
	if err != nil {
		return Result{}, fmt.Errorf("user %d written; describing the write: %w", f.User.ID, err)
	}
	if d := differences(effective(written, f.Before), ch); d != "" {
		warnings = append(warnings, fmt.Sprintf("the write to user %d differs from the rules' (%s): please report this", f.User.ID, d))
	}
	s.Seen.put(contactID, f.User)
	return s.written(f.User, ch, warnings), nil
}

// effective is what ch changes of u: its parts that differ from u's values.
func effective(ch Change, u *User) Change {
	out := Change{}
	for k, v := range ch.Fields {
		if k == "user_pass" || currentField(u, k) != v {
			setField(&out, k, v)
		}
	}
	for k, v := range ch.Meta {
		if v == nil {
			if len(metaStrings(u.Meta[k])) > 0 {
				if out.Meta == nil {
					out.Meta = map[string]any{}
				}
				out.Meta[k] = nil
			}
			continue
		}
		setMeta(&out, u, k, v)
	}
	if ch.Roles != nil && !slices.Equal(ch.Roles, u.Roles) {
		out.Roles = ch.Roles
	}
	return out
}

// differences names the parts in which a and b write differently, "" for none.
func differences(a, b Change) string {
	var d []string
	if !maps.Equal(a.Fields, b.Fields) {
		d = append(d, "fields")
	}
	if !slices.Equal(a.Roles, b.Roles) {
		d = append(d, "roles")
	}
	if len(a.Meta) != len(b.Meta) {
		d = append(d, "meta")
	} else {
		for k, v := range a.Meta {
			w, ok := b.Meta[k]
			if !ok || !metaEqual(v, w) {
				d = append(d, "meta:"+k)
			}
		}
	}
	slices.Sort(d)
	return strings.Join(d, ", ")
}

// updateCold is update for a contact not seen before: the contact first,
// then the find and the write in one request. ok is false when the usual
// way must run instead (AC no longer knows the contact: the user is needed
// to look it up again by its email).
func (s *Syncer) updateCold(ctx context.Context, req Request) (Result, bool, error) {
	s.prefetchTags(ctx, req)
	c, err := s.Contacts.Contact(ctx, req.ContactID)
	if errors.Is(err, ErrContactNotFound) {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, true, fmt.Errorf("load contact %s: %w", req.ContactID, err)
	}
	plan := func(u *User) (Change, []string, error) { return s.planRefresh(ctx, u, c, req, false) }
	f, res, err := s.speculate(ctx, req.ContactID, c.Email, true, plan)
	switch {
	case err != nil:
		return Result{}, true, err
	case f.Written:
		return res, true, nil
	case f.User == nil || (f.By == FoundByEmail && !sameEmail(f.User.Email, c.Email)):
		return noUser(req.ContactID), true, nil
	}
	res, err = s.refresh(ctx, f.User, c, req, false)
	return res, true, err
}

// updateTagsCold is update_tags for a contact not seen before: the find
// and the write of the tags in one request (only to the user linked to the
// contact; one with the payload's email is taken once AC agrees).
func (s *Syncer) updateTagsCold(ctx context.Context, req Request) (Result, bool, error) {
	tags, err := s.tags(ctx, req)
	if err != nil {
		return Result{}, true, err
	}
	plan := func(u *User) (Change, []string, error) { return s.planTags(ctx, u, req.ContactID, tags) }
	f, res, err := s.speculate(ctx, req.ContactID, req.EmailHint, false, plan)
	switch {
	case err != nil:
		return Result{}, true, err
	case f.Written:
		return res, true, nil
	}
	res, err = s.tagsOfFound(ctx, req, f)
	return res, true, err
}
