package contactsync

// add: find or create the user for a contact, and return its generated password.

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

func (s *Syncer) add(ctx context.Context, req Request) (Result, error) {
	if u := s.Seen.get(req.ContactID); u != nil {
		return s.addExisting(ctx, u, req)
	}
	s.prefetchTags(ctx, req)
	c, err := s.Contacts.Contact(ctx, req.ContactID)
	if errors.Is(err, ErrContactNotFound) {
		return s.addGone(ctx, req)
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
	return s.lookupOrCreate(ctx, c, req)
}

// addGone handles add for a contact id AC no longer knows: a user linked to
// it is relinked by email (addExisting); without one there is nothing to do.
func (s *Syncer) addGone(ctx context.Context, req Request) (Result, error) {
	linked, err := s.findLinked(ctx, req.ContactID)
	if err != nil {
		return Result{}, err
	}
	if linked == nil {
		return Result{}, permanentf("contact %s not found in ActiveCampaign", req.ContactID)
	}
	return s.addExisting(ctx, linked, req)
}

// lookupOrCreate finds the contact's user, by contact id, else by email,
// or creates it, in one request to WordPress. The new user is planned
// first (its generated password stored, its link owed); when a user is
// found instead, what the plan stored is dropped again.
func (s *Syncer) lookupOrCreate(ctx context.Context, c *Contact, req Request) (Result, error) {
	p, err := s.planCreate(ctx, c, req)
	if err != nil {
		return Result{}, err
	}
	l := Lookup{Key: s.Policy.ContactIDMetaKey, ContactID: c.ID, Email: c.Email, Create: &p.user, Logins: p.logins}
	if p.generated {
		l.Password = p.password // ours if a user with the email has it (see addFound)
	}
	found, err := s.Users.Lookup(ctx, l)
	if errors.Is(err, ErrEmailTaken) {
		// A user with this email appeared since WordPress looked. It may be
		// ours (a create of an earlier, killed run that WordPress finished
		// late: it is then found by contact id, or by email holding the
		// pending password, and gets that password) or someone else's (found
		// by email without it: the pending password is dropped then).
		return Result{}, fmt.Errorf("create user for contact %s: email appeared meanwhile, retrying to link: %w", c.ID, err)
	}
	if err != nil {
		return Result{}, fmt.Errorf("find or create the user for contact %s: %w", c.ID, err)
	}
	switch found.By {
	case FoundCreated:
		return s.created(ctx, c, req, p, found.User)
	case FoundByEmail:
		if !sameEmail(found.User.Email, c.Email) {
			return Result{}, fmt.Errorf("find the user for contact %s: WordPress answered user %d, whose email differs", c.ID, found.User.ID)
		}
		return s.addFound(ctx, found.User, c, req, p.password, p.generated && found.PasswordMatches)
	case FoundByContact:
		if err := s.unplan(ctx, c.ID, p); err != nil {
			return Result{}, err
		}
		return s.addExisting(ctx, found.User, req)
	}
	return Result{}, fmt.Errorf("find or create the user for contact %s: WordPress found and created nobody", c.ID)
}

// addFound links the user that has the contact's email (in AC) but no link.
// It is our own when it holds the password generated for the contact (ours,
// checked by WordPress in the lookup): a create WordPress carried out but
// whose link was never written (a slow user_register hook past the timeout,
// a crash in between). That password pw then goes to AC as for any user we
// create. Otherwise the user is someone else's and the pending password, for
// a create that never happened, is dropped.
func (s *Syncer) addFound(ctx context.Context, u *User, c *Contact, req Request, pw string, ours bool) (Result, error) {
	if !ours {
		if err := s.Passwords.DeletePendingPassword(ctx, c.ID); err != nil {
			return Result{}, fmt.Errorf("drop pending password: %w", err)
		}
		if err := s.dropOwedLink(ctx, c.ID); err != nil {
			return Result{}, err
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
	res.Message = fmt.Sprintf("linked user %d, created earlier for this contact; %s", u.ID, res.Message)
	return s.returnOwed(ctx, res, c.ID, c.ID, u, pw, s.notifyWithLink(req))
}

// addExisting handles add for a user already linked to the contact. A
// generated password still pending, and the link owed with it, are written
// now if the user has that password (a crash after creating the user and
// before writing them to AC), else both are dropped (a crash after planning
// a create that found someone else's user instead).
func (s *Syncer) addExisting(ctx context.Context, u *User, req Request) (Result, error) {
	s.prefetchTags(ctx, req)
	c, relinked, err := s.loadContact(ctx, req.ContactID, u)
	if err != nil {
		return Result{}, err
	}
	res, err := s.refresh(ctx, u, c, req, relinked)
	if err != nil {
		return Result{}, err
	}
	pw, ours, err := s.ownPending(ctx, u, req.ContactID)
	if err != nil {
		return Result{}, err
	}
	if !ours {
		// Not created by an earlier run of this webhook (a member of WP
		// Fusion's days, a user linked before): no password, and no
		// set-password link, is owed for someone else's account.
		if err := s.dropOwedLink(ctx, req.ContactID); err != nil {
			return Result{}, err
		}
		return res, nil
	}
	return s.returnOwed(ctx, res, req.ContactID, c.ID, u, pw, s.notifyWithLink(req))
}

// ownPending reports whether user u is proven wpbridge's own: it holds the
// password pending under pendingID (generated for a create of an earlier
// run that WordPress carried out, e.g. before a crash or a lost answer).
// A pending password u does not hold is dropped.
func (s *Syncer) ownPending(ctx context.Context, u *User, pendingID string) (pw string, ours bool, err error) {
	pw, ok, err := s.Passwords.PendingPassword(ctx, pendingID)
	if err != nil {
		return "", false, fmt.Errorf("read pending password: %w", err)
	}
	if !ok {
		return "", false, nil
	}
	if pw != "" {
		if ours, err = s.Users.CheckPassword(ctx, u.ID, pw); err != nil {
			return "", false, fmt.Errorf("check whether user %d has the password pending for contact %s: %w", u.ID, pendingID, err)
		}
	}
	if !ours {
		if err := s.Passwords.DeletePendingPassword(ctx, pendingID); err != nil {
			return "", false, fmt.Errorf("drop pending password: %w", err)
		}
		return "", false, nil
	}
	return pw, true, nil
}

// returnOwed sends AC what is owed for user u, created by wpbridge for the
// contact: the set-password link owed under pendingID first, then the
// generated password pw (forgotten only after the link is out, so that a
// retry after a crash in between still proves u is ours and writes the
// link), both to contactID. notify: WordPress's new-user email goes out
// with the link's key (notifyWithLink).
func (s *Syncer) returnOwed(ctx context.Context, res Result, pendingID, contactID string, u *User, pw string, notify bool) (Result, error) {
	res, err := s.addLink(ctx, res, pendingID, contactID, u, notify)
	if err != nil {
		return Result{}, err
	}
	if err := s.returnPassword(ctx, pendingID, contactID, pw); err != nil {
		return Result{}, err
	}
	if s.Policy.ReturnPasswordField != "" {
		res.Changes = append(res.Changes, "password_returned")
		res.Message += "; generated password written to ActiveCampaign"
	}
	return res, nil
}

// createPlan is a user to create for a contact, and what was stored for it.
type createPlan struct {
	user      NewUser
	logins    []string // the login, then up to ten with a number appended
	role      string
	warning   string
	password  string
	generated bool // password is stored pending: it proves a found user ours, and goes back to AC with RETURN_PASSWORD_FIELD
	fresh     bool // this run stored the pending password
	freshLink bool // this run recorded the owed link
}

// planCreate builds the user to create for the contact: its fields, tags,
// role, login candidates and password (stored pending first, or an earlier,
// unreturned one reused), and records the link owed for an add.
func (s *Syncer) planCreate(ctx context.Context, c *Contact, req Request) (*createPlan, error) {
	values, err := s.mappedValues(ctx, c)
	if err != nil {
		return nil, err
	}
	tags, err := s.tags(ctx, req)
	if err != nil {
		return nil, err
	}
	p := &createPlan{password: values["user_pass"]}
	if p.role, p.warning, err = s.newUserRole(ctx, values["role"], req.Role); err != nil {
		return nil, err
	}
	if p.password == "" {
		if p.password, p.generated, p.fresh, err = s.newPassword(ctx, c.ID); err != nil {
			return nil, err
		}
	}
	if req.Action == ActionAdd {
		if p.freshLink, err = s.oweLink(ctx, c.ID); err != nil {
			return nil, err
		}
	}
	p.user = s.newUser(c, req, values, tags, p.role, p.password)
	if s.notifyWithLink(req) {
		p.user.SendNotification = false // sent with the link's key (addLink): one key for both
	}
	roles, tw, err := s.newUserRoles(ctx, p.role, tags)
	if err != nil {
		return nil, err
	}
	p.user.Roles = roles
	if len(tw) > 0 {
		p.warning = strings.TrimPrefix(p.warning+"; "+strings.Join(tw, "; "), "; ")
	}
	s.setHooks(&p.user.Change, req.Action, c.ID, tags, values)
	login, err := s.Policy.baseLogin(s.rand(), c, values["user_login"])
	if err != nil {
		return nil, err
	}
	p.logins, err = s.loginCandidates(login)
	return p, err
}

// notifyWithLink reports whether WordPress's new-user email of a user
// created for req goes out with the key of the set-password link written to
// RETURN_LINK_FIELD (one reset key for both) instead of with the create,
// which would make a key of its own that the link's key then replaces.
func (s *Syncer) notifyWithLink(req Request) bool {
	return req.SendNotification && req.Action == ActionAdd && s.Policy.ReturnLinkField != ""
}

// unplan drops what planCreate stored for a create that did not happen.
func (s *Syncer) unplan(ctx context.Context, contactID string, p *createPlan) error {
	if p.fresh {
		if err := s.Passwords.DeletePendingPassword(ctx, contactID); err != nil {
			return fmt.Errorf("drop pending password: %w", err)
		}
	}
	if p.freshLink {
		if err := s.Passwords.DeletePendingPassword(ctx, linkKey(contactID)); err != nil {
			return fmt.Errorf("drop pending link: %w", err)
		}
	}
	return nil
}

// created finishes the creation of user u for the contact: the generated
// password and the set-password link go to ActiveCampaign.
func (s *Syncer) created(ctx context.Context, c *Contact, req Request, p *createPlan, u *User) (Result, error) {
	s.Seen.put(c.ID, u)
	res := Result{Status: StatusDone, UserID: u.ID, Created: true, Changes: []string{"created"},
		Message: fmt.Sprintf("created user %d with role %s", u.ID, strings.Join(p.user.Roles, ", "))}
	if p.warning != "" {
		res.Warnings = []string{p.warning}
	}
	listenerWarnings(&res, u)
	if req.SendNotification {
		res.Changes = append(res.Changes, "notification_sent")
	}
	notify := s.notifyWithLink(req)
	if !p.generated {
		return s.addLink(ctx, res, c.ID, c.ID, u, notify)
	}
	return s.returnOwed(ctx, res, c.ID, c.ID, u, p.password, notify)
}

// addLink writes the set-password link owed to the contact, if any, when
// user u is managed by wpbridge; for anyone else (a role or capability
// beyond ALLOWED_ROLES, no role) the debt is dropped and no key is made.
//
// notify (notifyWithLink): the create left WordPress's new-user email to
// the link's key, so that one key serves both; it goes out with the key.
func (s *Syncer) addLink(ctx context.Context, res Result, pendingID, contactID string, u *User, notify bool) (Result, error) {
	if why := s.Policy.unmanaged(u); why != "" {
		if err := s.dropOwedLink(ctx, pendingID); err != nil {
			return Result{}, err
		}
		return res, nil
	}
	owed, err := s.returnLink(ctx, pendingID, contactID, u.ID, notify)
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

// loginCandidates lists the logins to try for a new user: login, then ten
// times login with a random number from 1 to 999 appended, for while the
// ones before are taken.
func (s *Syncer) loginCandidates(login string) ([]string, error) {
	out := []string{login}
	for range 10 {
		n, err := randomInt(s.rand(), 1, 999)
		if err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("%s%d", login, n))
	}
	return out, nil
}

// newPassword generates a password for a new user. When a password or a
// set-password link goes back to AC, it is stored first (or an earlier,
// unreturned one is reused) so that a crash never leads to a second,
// different password, and so that a user found on a retry is proven ours
// only when it holds it. generated is false when nothing is stored; fresh
// says this call stored it.
func (s *Syncer) newPassword(ctx context.Context, contactID string) (pw string, generated, fresh bool, err error) {
	if s.Policy.ReturnPasswordField == "" && s.Policy.ReturnLinkField == "" {
		pw, err = generatePassword(s.rand(), s.Policy.PasswordLength)
		return pw, false, false, err
	}
	pw, ok, err := s.Passwords.PendingPassword(ctx, contactID)
	if err != nil {
		return "", false, false, fmt.Errorf("read pending password: %w", err)
	}
	if ok && pw != "" {
		return pw, true, false, nil
	}
	if pw, err = generatePassword(s.rand(), s.Policy.PasswordLength); err != nil {
		return "", false, false, err
	}
	if err := s.Passwords.SavePendingPassword(ctx, contactID, pw); err != nil {
		return "", false, false, fmt.Errorf("store pending password: %w", err)
	}
	return pw, true, true, nil
}

// returnPassword writes a generated password to RETURN_PASSWORD_FIELD of
// contactID (returnSecret), or only forgets it when no field is set.
func (s *Syncer) returnPassword(ctx context.Context, pendingID, contactID, pw string) error {
	if s.Policy.ReturnPasswordField == "" {
		return s.Passwords.DeletePendingPassword(ctx, pendingID)
	}
	return s.returnSecret(ctx, secretField{"RETURN_PASSWORD_FIELD", s.Policy.ReturnPasswordField, "password"},
		pendingID, contactID, pw)
}

// secretField is the AC field a secret is returned to: the variable that
// names it, its id or %PERSTAG%, and what the secret is, for errors.
type secretField struct{ variable, ref, what string }

// returnSecret writes secret (a generated password or a set-password link)
// to field f of contactID, then forgets the one pending under key. The
// secret goes to AC only, never into an error.
func (s *Syncer) returnSecret(ctx context.Context, f secretField, key, contactID, secret string) error {
	fieldID, err := s.Contacts.FieldID(ctx, f.ref)
	if errors.Is(err, ErrFieldNotFound) {
		return permanentf("%s %s does not exist in ActiveCampaign", f.variable, f.ref)
	}
	if err != nil {
		return fmt.Errorf("resolve %s: %w", f.variable, err)
	}
	if err := s.Contacts.SetField(ctx, contactID, fieldID, secret); err != nil {
		return fmt.Errorf("write %s to contact %s: %w", f.what, contactID, err)
	}
	if err := s.Passwords.DeletePendingPassword(ctx, key); err != nil {
		return fmt.Errorf("drop returned %s: %w", f.what, err)
	}
	return nil
}
