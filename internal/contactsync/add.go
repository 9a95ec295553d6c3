package contactsync

// add: find or create the user for a contact, and return its generated password.

import (
	"context"
	"errors"
	"fmt"
)

func (s *Syncer) add(ctx context.Context, req Request) (Result, error) {
	linked, err := s.findLinked(ctx, req.ContactID)
	if err != nil {
		return Result{}, err
	}
	if linked != nil {
		return s.addExisting(ctx, linked, req)
	}
	c, err := s.Contacts.Contact(ctx, req.ContactID)
	if errors.Is(err, ErrContactNotFound) {
		return Result{}, permanentf("contact %s not found in ActiveCampaign", req.ContactID)
	}
	if err != nil {
		return Result{}, fmt.Errorf("load contact %s: %w", req.ContactID, err)
	}
	if c.Email == "" {
		return Result{}, permanentf("contact %s has no email address", c.ID)
	}
	if !validEmail(c.Email) {
		return Result{}, permanentf("contact %s has an invalid email address", c.ID)
	}
	u, err := s.findByEmail(ctx, c.Email)
	if err != nil {
		return Result{}, err
	}
	if u != nil {
		return s.addFound(ctx, u, c, req)
	}
	return s.create(ctx, c, req)
}

// addFound links the user that has the contact's email (in AC) but no link.
// It is our own when it holds the password generated for the contact: a
// create WordPress carried out but whose link was never written (a slow
// user_register hook past the timeout, a crash in between). That password
// then goes to AC as for any user we create. Otherwise the user is someone
// else's and the pending password, for a create that never happened, is
// dropped.
func (s *Syncer) addFound(ctx context.Context, u *User, c *Contact, req Request) (Result, error) {
	pw, ours, err := s.createdByUs(ctx, u, c.ID)
	if err != nil {
		return Result{}, err
	}
	if !ours {
		if err := s.Passwords.DeletePendingPassword(ctx, c.ID); err != nil {
			return Result{}, fmt.Errorf("drop pending password: %w", err)
		}
		if err := s.Passwords.DeletePendingPassword(ctx, linkKey(c.ID)); err != nil {
			return Result{}, fmt.Errorf("drop pending link: %w", err)
		}
	}
	res, err := s.refresh(ctx, u, c, req, false)
	if err != nil {
		return Result{}, err
	}
	res.Changes = append(res.Changes, "linked")
	if !ours {
		res.Message = fmt.Sprintf("linked existing user %d by email; %s", u.ID, res.Message)
		return res, nil
	}
	if err := s.returnPassword(ctx, c.ID, c.ID, pw); err != nil {
		return Result{}, err
	}
	res.Changes = append(res.Changes, "password_returned")
	res.Message = fmt.Sprintf("linked user %d, created earlier for this contact; %s; generated password written to ActiveCampaign", u.ID, res.Message)
	return s.addLink(ctx, res, c.ID, c.ID, u.ID)
}

// createdByUs reports whether u holds the password pending for the contact,
// which only a create of ours can have given it, and returns that password.
func (s *Syncer) createdByUs(ctx context.Context, u *User, contactID string) (pw string, ours bool, err error) {
	if s.Policy.ReturnPasswordField == "" {
		return "", false, nil // no password is kept pending
	}
	pw, ok, err := s.Passwords.PendingPassword(ctx, contactID)
	if err != nil {
		return "", false, fmt.Errorf("read pending password: %w", err)
	}
	if !ok || pw == "" {
		return "", false, nil
	}
	ours, err = s.Users.CheckPassword(ctx, u.ID, pw)
	if err != nil {
		return "", false, fmt.Errorf("check whether user %d was created for contact %s: %w", u.ID, contactID, err)
	}
	return pw, ours, nil
}

// addExisting handles add for a user already linked to the contact. If a
// generated password is still pending (a crash after creating the user and
// before writing it to AC), it is written now.
func (s *Syncer) addExisting(ctx context.Context, u *User, req Request) (Result, error) {
	c, relinked, err := s.loadContact(ctx, req.ContactID, u)
	if err != nil {
		return Result{}, err
	}
	res, err := s.refresh(ctx, u, c, req, relinked)
	if err != nil {
		return Result{}, err
	}
	pw, ok, err := s.Passwords.PendingPassword(ctx, req.ContactID)
	if err != nil {
		return Result{}, fmt.Errorf("read pending password: %w", err)
	}
	if ok {
		// After a merge the password goes to the surviving contact (c.ID).
		if err := s.returnPassword(ctx, req.ContactID, c.ID, pw); err != nil {
			return Result{}, err
		}
		res.Changes = append(res.Changes, "password_returned")
	}
	if req.Action != ActionAdd {
		return res, nil
	}
	return s.addLink(ctx, res, req.ContactID, c.ID, u.ID)
}

// create makes a new user for the contact: it builds the user, creates it
// under a free login and returns a generated password to ActiveCampaign.
func (s *Syncer) create(ctx context.Context, c *Contact, req Request) (Result, error) {
	values, err := s.mappedValues(ctx, c)
	if err != nil {
		return Result{}, err
	}
	tags, err := s.tags(ctx, req)
	if err != nil {
		return Result{}, err
	}
	role, warning, err := s.newUserRole(ctx, values["role"], req.Role)
	if err != nil {
		return Result{}, err
	}
	password, generated := values["user_pass"], false
	if password == "" {
		if password, generated, err = s.newPassword(ctx, c.ID); err != nil {
			return Result{}, err
		}
	}
	if req.Action == ActionAdd {
		if err := s.oweLink(ctx, c.ID); err != nil {
			return Result{}, err
		}
	}
	nu := s.newUser(c, req, values, tags, role, password)
	login, err := s.Policy.baseLogin(s.rand(), c, values["user_login"])
	if err != nil {
		return Result{}, err
	}
	u, err := s.createUnderFreeLogin(ctx, nu, login)
	if errors.Is(err, ErrEmailTaken) {
		// A user with this email appeared since we looked. It may be ours (a
		// create of an earlier, killed run that WordPress finished late: it is
		// then found by contact id, or by email holding the pending password,
		// and gets that password) or someone else's (found by email without
		// it: the pending password is dropped then).
		return Result{}, fmt.Errorf("create user for contact %s: email appeared meanwhile, retrying to link: %w", c.ID, err)
	}
	if err != nil {
		return Result{}, fmt.Errorf("create user for contact %s: %w", c.ID, err)
	}
	res := Result{Status: StatusDone, UserID: u.ID, Created: true, Changes: []string{"created"},
		Message: fmt.Sprintf("created user %d with role %s", u.ID, role)}
	if warning != "" {
		res.Warnings = []string{warning}
	}
	if req.SendNotification {
		res.Changes = append(res.Changes, "notification_sent")
	}
	if generated {
		if err := s.returnPassword(ctx, c.ID, c.ID, password); err != nil {
			return Result{}, err
		}
		res.Changes = append(res.Changes, "password_returned")
		res.Message += "; generated password written to ActiveCampaign"
	}
	return s.addLink(ctx, res, c.ID, c.ID, u.ID)
}

// addLink writes the set-password link owed to the contact, if any.
func (s *Syncer) addLink(ctx context.Context, res Result, pendingID, contactID string, userID int64) (Result, error) {
	owed, err := s.returnLink(ctx, pendingID, contactID, userID)
	if err != nil {
		return Result{}, err
	}
	if owed {
		res.Changes = append(res.Changes, "link_returned")
		res.Message += "; set-password link written to ActiveCampaign"
	}
	return res, nil
}

// newUser builds the user to create for the contact, without its login: the
// email, password, role, contact link, tags and the mapped fields and meta.
func (s *Syncer) newUser(c *Contact, req Request, values map[string]string, tags []string, role, password string) NewUser {
	nu := NewUser{Change: Change{
		Fields:           map[string]string{"user_email": c.Email, "user_pass": password},
		Roles:            []string{role},
		Meta:             map[string]any{s.Policy.ContactIDMetaKey: c.ID},
		SendNotification: req.SendNotification,
	}}
	if len(tags) > 0 {
		nu.Meta[s.Policy.TagsMetaKey] = tags
	}
	for _, m := range s.Policy.FieldMap {
		v, ok := values[m.Target]
		switch {
		case !ok, m.Target == "user_login", m.Target == "role", m.Target == "user_pass":
		case m.Target == "user_email":
			if validEmail(v) {
				nu.Fields["user_email"] = v
			}
		case IsCoreField(m.Target):
			nu.Fields[m.Target] = v
		default:
			nu.Meta[m.Target] = metaValue(v)
		}
	}
	return nu
}

// createUnderFreeLogin creates nu under login; while that login is taken it
// tries again (up to ten times) with a random number from 1 to 999 appended.
func (s *Syncer) createUnderFreeLogin(ctx context.Context, nu NewUser, login string) (*User, error) {
	for attempt := 0; ; attempt++ {
		nu.Login = login
		if attempt > 0 {
			n, err := randomInt(s.rand(), 1, 999)
			if err != nil {
				return nil, err
			}
			nu.Login = fmt.Sprintf("%s%d", login, n)
		}
		u, err := s.Users.Create(ctx, nu)
		if errors.Is(err, ErrLoginTaken) && attempt < 10 {
			continue
		}
		return u, err
	}
}

// newPassword generates a password for a new user. When passwords go back to
// AC, it is stored first (or an earlier, unreturned one is reused) so that a
// crash never leads to a second, different password. generated is false when
// nothing is to be returned.
func (s *Syncer) newPassword(ctx context.Context, contactID string) (pw string, generated bool, err error) {
	if s.Policy.ReturnPasswordField == "" {
		pw, err = generatePassword(s.rand(), s.Policy.PasswordLength)
		return pw, false, err
	}
	pw, ok, err := s.Passwords.PendingPassword(ctx, contactID)
	if err != nil {
		return "", false, fmt.Errorf("read pending password: %w", err)
	}
	if ok {
		return pw, true, nil
	}
	if pw, err = generatePassword(s.rand(), s.Policy.PasswordLength); err != nil {
		return "", false, err
	}
	if err := s.Passwords.SavePendingPassword(ctx, contactID, pw); err != nil {
		return "", false, fmt.Errorf("store pending password: %w", err)
	}
	return pw, true, nil
}

// returnPassword writes a generated password to RETURN_PASSWORD_FIELD of
// contactID, then forgets the one pending under pendingID.
func (s *Syncer) returnPassword(ctx context.Context, pendingID, contactID, pw string) error {
	if s.Policy.ReturnPasswordField == "" {
		return s.Passwords.DeletePendingPassword(ctx, pendingID)
	}
	fieldID, err := s.Contacts.FieldID(ctx, s.Policy.ReturnPasswordField)
	if errors.Is(err, ErrContactNotFound) {
		return permanentf("RETURN_PASSWORD_FIELD %s does not exist in ActiveCampaign", s.Policy.ReturnPasswordField)
	}
	if err != nil {
		return fmt.Errorf("resolve RETURN_PASSWORD_FIELD: %w", err)
	}
	if err := s.Contacts.SetField(ctx, contactID, fieldID, pw); err != nil {
		return fmt.Errorf("write password to contact %s: %w", contactID, err)
	}
	if err := s.Passwords.DeletePendingPassword(ctx, pendingID); err != nil {
		return fmt.Errorf("drop returned password: %w", err)
	}
	return nil
}
