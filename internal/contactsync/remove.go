package contactsync

// remove_access: take the allowed roles from the contact's linked managed
// user (or delete it), keeping it managed through AccessRemovedMetaKey.

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// AccessRemovedMetaKey marks a user that remove_access left without a role:
// such a user stays managed, so a later add can give it a role back. Any
// other role-less user is protected.
const AccessRemovedMetaKey = "wpbridge_access_removed"

// accessRemoved reports whether remove_access left u without a role.
func accessRemoved(u *User) bool {
	v, ok := u.Meta[AccessRemovedMetaKey].(string)
	return ok && v != ""
}

func (s *Syncer) removeAccess(ctx context.Context, req Request) (Result, error) {
	u, err := s.findLinked(ctx, req.ContactID)
	if err != nil {
		return Result{}, err
	}
	if u == nil {
		return ignored("no WordPress user is linked to contact %s", req.ContactID), nil
	}
	if why := s.Policy.unmanaged(u); why != "" {
		return Result{Status: StatusIgnored, UserID: u.ID,
			Message: fmt.Sprintf("user %d is not managed by wpbridge (%s): access not removed", u.ID, why)}, nil
	}
	if req.Delete {
		s.Seen.forget(req.ContactID)
		return s.deleteUser(ctx, u, req.ContactID, req.Reassign)
	}
	tags, err := s.tags(ctx, req)
	if err != nil {
		return Result{}, err
	}
	var ch Change
	s.setLink(&ch, u, req.ContactID)
	s.setTags(&ch, u, tags)
	if len(u.Roles) > 0 {
		ch.Roles = []string{}
	}
	setMeta(&ch, u, AccessRemovedMetaKey, "1")
	s.setHooks(&ch, ActionRemoveAccess, req.ContactID, tags, nil)
	res, err := s.apply(ctx, req.ContactID, u, ch, nil)
	if err != nil {
		return Result{}, err
	}
	if len(u.Roles) > 0 {
		res.Changes = append(res.Changes, "access_removed")
		res.Message = fmt.Sprintf("removed the roles of user %d (%s)", u.ID, strings.Join(u.Roles, ", "))
	}
	return res, nil
}

// deleteUser deletes the managed user u, its content given to the user with
// the email reassign, or else to the user wpbridge acts as.
func (s *Syncer) deleteUser(ctx context.Context, u *User, contactID, reassign string) (Result, error) {
	var to *User
	var err error
	if reassign != "" {
		if to, err = s.findByEmail(ctx, reassign); err != nil {
			return Result{}, err
		}
		if to == nil {
			return Result{}, permanentf("reassign: no WordPress user has that email")
		}
	} else if to, err = s.Users.Self(ctx); err != nil {
		return Result{}, fmt.Errorf("load the WP_USERNAME user: %w", err)
	}
	if to.ID == u.ID {
		return Result{}, permanentf("reassign: user %d cannot receive its own content", u.ID)
	}
	warnings, err := s.Users.Delete(ctx, u, to.ID, contactID)
	if errors.Is(err, ErrUserNotFound) {
		return Result{}, permanentf("delete user %d: the user or user %d to reassign to no longer exists", u.ID, to.ID)
	}
	if err != nil {
		return Result{}, fmt.Errorf("delete user %d: %w", u.ID, err) // ErrStale: the round starts over and checks the user again
	}
	res := Result{Status: StatusDone, UserID: u.ID, Changes: []string{"deleted"},
		Message: fmt.Sprintf("deleted user %d, its content reassigned to user %d", u.ID, to.ID)}
	listenerWarnings(&res, &User{Warnings: warnings})
	return res, nil
}

// UserExists reports whether a WordPress user has exactly this email (but
// for ASCII case): remove_access's reassign= is checked with it when the
// webhook arrives.
func (s *Syncer) UserExists(ctx context.Context, email string) (bool, error) {
	u, err := s.findByEmail(ctx, email)
	return u != nil, err
}
