package contactsync

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"strings"
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
		// Not created by us: a password generated for a create that never
		// happened is not this user's.
		if err := s.Passwords.DeletePendingPassword(ctx, c.ID); err != nil {
			return Result{}, fmt.Errorf("drop pending password: %w", err)
		}
		res, err := s.refresh(ctx, u, c, req, false)
		if err != nil {
			return Result{}, err
		}
		res.Changes = append(res.Changes, "linked")
		res.Message = fmt.Sprintf("linked existing user %d by email; %s", u.ID, res.Message)
		return res, nil
	}
	return s.create(ctx, c, req)
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
	return res, nil
}

// create makes a new user for the contact.
func (s *Syncer) create(ctx context.Context, c *Contact, req Request) (Result, error) {
	values, err := s.mappedValues(ctx, c)
	if err != nil {
		return Result{}, err
	}
	tags, err := s.tags(ctx, req)
	if err != nil {
		return Result{}, err
	}
	role, warning := s.Policy.chooseRole(values["role"], req.Role)
	var warnings []string
	if warning != "" {
		warnings = append(warnings, warning)
	}

	password, generated := values["user_pass"], false
	if password == "" {
		if password, generated, err = s.newPassword(ctx, c.ID); err != nil {
			return Result{}, err
		}
	}

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
	login, err := s.Policy.baseLogin(s.rand(), c, values["user_login"])
	if err != nil {
		return Result{}, err
	}

	var u *User
	for attempt := 0; ; attempt++ {
		nu.Login = login
		if attempt > 0 {
			n, err := randomInt(s.rand(), 1, 999)
			if err != nil {
				return Result{}, err
			}
			nu.Login = fmt.Sprintf("%s%d", login, n)
		}
		u, err = s.Users.Create(ctx, nu)
		if errors.Is(err, ErrLoginTaken) && attempt < 10 {
			continue
		}
		break
	}
	if errors.Is(err, ErrEmailTaken) {
		// A user with this email appeared since we looked. It may be ours (a
		// create of an earlier, killed run that WordPress finished late: it is
		// then found by contact id and gets the pending password) or someone
		// else's (found by email: the pending password is dropped then).
		return Result{}, fmt.Errorf("create user for contact %s: email appeared meanwhile, retrying to link: %w", c.ID, err)
	}
	if err != nil {
		return Result{}, fmt.Errorf("create user for contact %s: %w", c.ID, err)
	}
	res := Result{Status: StatusDone, UserID: u.ID, Created: true, Changes: []string{"created"}, Warnings: warnings,
		Message: fmt.Sprintf("created user %d with role %s", u.ID, role)}
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
	return res, nil
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

// mappedValues reads every FIELD_MAP source from the contact, by target.
// Empty values are left out (WP Fusion skips them too).
func (s *Syncer) mappedValues(ctx context.Context, c *Contact) (map[string]string, error) {
	out := make(map[string]string, len(s.Policy.FieldMap))
	for _, m := range s.Policy.FieldMap {
		var v string
		switch src := m.Source; {
		case src == "email":
			v = c.Email
		case src == "firstName":
			v = c.FirstName
		case src == "lastName":
			v = c.LastName
		case src == "phone":
			v = c.Phone
		case src == "orgname":
			v = c.Orgname
		case strings.HasPrefix(src, "field:"):
			v = c.Fields[strings.TrimPrefix(src, "field:")]
		case strings.HasPrefix(src, "%"):
			id, err := s.Contacts.FieldID(ctx, src)
			if errors.Is(err, ErrContactNotFound) {
				return nil, permanentf("FIELD_MAP: ActiveCampaign has no field %s", src)
			}
			if err != nil {
				return nil, fmt.Errorf("resolve field %s: %w", src, err)
			}
			v = c.Fields[id]
		}
		if len(splitMulti(v)) > 0 { // blank, or a multiselect with nothing selected
			out[m.Target] = v
		}
	}
	return out, nil
}

// setLink stores the contact id on the user when it differs.
func (s *Syncer) setLink(ch *Change, u *User, contactID string) {
	setMeta(ch, u, s.Policy.ContactIDMetaKey, contactID)
}

// setTags stores the tag names when they differ; no tags deletes the key.
func (s *Syncer) setTags(ch *Change, u *User, tags []string) {
	if len(tags) == 0 {
		if _, ok := u.Meta[s.Policy.TagsMetaKey]; ok && len(metaStrings(u.Meta[s.Policy.TagsMetaKey])) > 0 {
			if ch.Meta == nil {
				ch.Meta = map[string]any{}
			}
			ch.Meta[s.Policy.TagsMetaKey] = nil
		}
		return
	}
	setMeta(ch, u, s.Policy.TagsMetaKey, tags)
}

// apply writes ch to u unless it is empty.
func (s *Syncer) apply(ctx context.Context, u *User, ch Change, warnings []string) (Result, error) {
	res := Result{Status: StatusDone, UserID: u.ID, Warnings: warnings}
	if ch.IsEmpty() {
		res.Message = fmt.Sprintf("user %d already up to date", u.ID)
		return res, nil
	}
	if _, err := s.Users.Update(ctx, u.ID, ch); err != nil {
		if errors.Is(err, ErrEmailTaken) {
			return Result{}, permanentf("update user %d: the new email belongs to another user", u.ID)
		}
		return Result{}, fmt.Errorf("update user %d: %w", u.ID, err)
	}
	res.Changes = describe(ch, s.Policy.TagsMetaKey)
	res.Message = fmt.Sprintf("updated user %d: %s", u.ID, strings.Join(res.Changes, ", "))
	return res, nil
}

// describe lists what a change writes, without values.
func describe(ch Change, tagsKey string) []string {
	var out []string
	for _, k := range sortedKeys(ch.Fields) {
		if k == "user_pass" {
			out = append(out, "password")
			continue
		}
		out = append(out, k)
	}
	if ch.Roles != nil {
		out = append(out, "role")
	}
	for _, k := range sortedKeys(ch.Meta) {
		if k == tagsKey {
			out = append(out, "tags")
			continue
		}
		out = append(out, "meta:"+k)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// currentField is the user's value of a core field; the email lives in User.Email.
func currentField(u *User, target string) string {
	if target == "user_email" {
		return u.Email
	}
	return u.Fields[target]
}

func setField(ch *Change, k, v string) {
	if ch.Fields == nil {
		ch.Fields = map[string]string{}
	}
	ch.Fields[k] = v
}

// setMeta records a meta write when the value differs from the user's.
func setMeta(ch *Change, u *User, key string, v any) {
	if metaEqual(u.Meta[key], v) {
		return
	}
	if ch.Meta == nil {
		ch.Meta = map[string]any{}
	}
	ch.Meta[key] = v
}

// metaValue turns an AC value into a meta value: a multiselect becomes a list.
func metaValue(v string) any {
	if strings.Contains(v, "||") {
		return splitMulti(v)
	}
	return v
}

func metaStrings(v any) []string {
	switch t := v.(type) {
	case []string:
		return t
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			out = append(out, fmt.Sprint(e))
		}
		return out
	case string:
		return []string{t}
	}
	return nil
}

func metaEqual(have, want any) bool {
	if have == nil {
		return want == nil
	}
	if ws, ok := want.(string); ok {
		hs, ok := have.(string)
		return ok && hs == ws
	}
	if _, ok := have.(string); ok {
		return false
	}
	return slices.Equal(metaStrings(have), metaStrings(want))
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s, "@")
}

func ignored(format string, a ...any) Result {
	return Result{Status: StatusIgnored, Message: fmt.Sprintf(format, a...)}
}
