package contactsync

// Set-password links (RETURN_LINK_FIELD) and password_reset. A link is a
// secret like a password: it is kept in the PasswordStore under
// linkKey(contact id) from before it can exist until AC has it, written to
// AC once, and never logged.

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// LinkKeyPrefix prefixes the contact id under which a pending set-password
// link is kept in the PasswordStore. A pending value "" means a link is
// owed (a user is being created for the contact) but not made yet.
const LinkKeyPrefix = "link:"

func linkKey(contactID string) string { return LinkKeyPrefix + contactID }

// link is WordPress's own set-password link for a reset key.
func (p *Policy) link(key, login string) string {
	return strings.TrimRight(p.SiteURL, "/") + "/wp-login.php?action=rp&key=" + url.QueryEscape(key) + "&login=" + url.QueryEscape(login)
}

// oweLink records, before a user is created for the contact, that its link
// is to go to AC, so that a crash after the create still writes it. fresh
// says this call recorded it.
func (s *Syncer) oweLink(ctx context.Context, contactID string) (fresh bool, err error) {
	if s.Policy.ReturnLinkField == "" {
		return false, nil
	}
	if _, ok, err := s.Passwords.PendingPassword(ctx, linkKey(contactID)); err != nil || ok {
		return false, wrapPending(err)
	}
	if err := s.Passwords.SavePendingPassword(ctx, linkKey(contactID), ""); err != nil {
		return false, fmt.Errorf("store pending link: %w", err)
	}
	return true, nil
}

// dropOwedLink forgets a link owed to the contact and not made yet: a
// create that did not happen, or a user that is not proven wpbridge's own or
// not managed. A link already made (a password_reset's, whose email went
// out) stays until it is written.
func (s *Syncer) dropOwedLink(ctx context.Context, contactID string) error {
	link, ok, err := s.Passwords.PendingPassword(ctx, linkKey(contactID))
	if err != nil || !ok || link != "" {
		return wrapPending(err)
	}
	if err := s.Passwords.DeletePendingPassword(ctx, linkKey(contactID)); err != nil {
		return fmt.Errorf("drop pending link: %w", err)
	}
	return nil
}

func wrapPending(err error) error {
	if err != nil {
		return fmt.Errorf("read pending link: %w", err)
	}
	return nil
}

// returnLink writes the link owed under pendingID (making it first when
// only owed, with WordPress's new-user email when notify: the create left
// that email to this key) to RETURN_LINK_FIELD of contactID, then forgets
// it. It reports whether a link was owed.
func (s *Syncer) returnLink(ctx context.Context, pendingID, contactID string, userID int64, notify bool) (bool, error) {
	link, ok, err := s.Passwords.PendingPassword(ctx, linkKey(pendingID))
	if err != nil || !ok {
		return false, wrapPending(err)
	}
	if link == "" {
		email := NoEmail
		if notify {
			email = NewUserEmail
		}
		if link, err = s.newLink(ctx, pendingID, userID, email); err != nil {
			return false, err
		}
	}
	return true, s.writeLink(ctx, pendingID, contactID, link)
}

// newLink makes a reset key for the user (with the WordPress email that
// carries it, if any) and stores the link pending under pendingID.
func (s *Syncer) newLink(ctx context.Context, pendingID string, userID int64, email KeyEmail) (string, error) {
	key, login, err := s.Users.ResetKey(ctx, userID, email)
	if err != nil {
		return "", fmt.Errorf("make a password-reset key for user %d: %w", userID, err)
	}
	if s.Policy.ReturnLinkField == "" {
		return "", nil
	}
	link := s.Policy.link(key, login)
	if err := s.Passwords.SavePendingPassword(ctx, linkKey(pendingID), link); err != nil {
		return "", fmt.Errorf("store pending link: %w", err)
	}
	return link, nil
}

// writeLink writes link to RETURN_LINK_FIELD of contactID (returnSecret),
// then forgets the one pending under pendingID.
func (s *Syncer) writeLink(ctx context.Context, pendingID, contactID, link string) error {
	return s.returnSecret(ctx, secretField{"RETURN_LINK_FIELD", s.Policy.ReturnLinkField, "set-password link"},
		linkKey(pendingID), contactID, link)
}

// passwordReset finds or creates the user as add does, then sends
// WordPress's password-reset email to it and writes the link it carries to
// RETURN_LINK_FIELD. A link still pending from an earlier run of the same
// request (its email went out) is written instead of sending another.
func (s *Syncer) passwordReset(ctx context.Context, req Request) (Result, error) {
	res, err := s.add(ctx, req)
	if err != nil {
		return Result{}, err
	}
	// The user as add just read or wrote it (Seen), else read again.
	u, err := s.linked(ctx, req.ContactID)
	if err != nil {
		return Result{}, err
	}
	if u == nil {
		return Result{}, permanentf("contact %s was relinked to another contact id: send password_reset for that one", req.ContactID)
	}
	if why := s.Policy.unmanaged(u); why != "" {
		res.Status = StatusIgnored
		res.Message = fmt.Sprintf("user %d is not managed by wpbridge (%s): no password reset sent; %s", u.ID, why, res.Message)
		return res, nil
	}
	link, ok, err := s.Passwords.PendingPassword(ctx, linkKey(req.ContactID))
	if err != nil {
		return Result{}, wrapPending(err)
	}
	if !ok || link == "" {
		if link, err = s.newLink(ctx, req.ContactID, u.ID, ResetEmail); err != nil {
			return Result{}, err
		}
	}
	res.Changes = append(res.Changes, "reset_email_sent")
	res.Message += "; password-reset email sent"
	if link != "" {
		if err := s.writeLink(ctx, req.ContactID, req.ContactID, link); err != nil {
			return Result{}, err
		}
		res.Changes = append(res.Changes, "link_returned")
		res.Message += "; set-password link written to ActiveCampaign"
	}
	return res, nil
}
