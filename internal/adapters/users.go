package adapters

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/wordpress"
)

// Users implements contactsync.UserStore over the WordPress client.
type Users struct {
	WP *wordpress.Client
}

var _ contactsync.UserStore = (*Users)(nil)

// FindByMeta finds the user whose meta key holds value.
func (s *Users) FindByMeta(ctx context.Context, key, value string) (*contactsync.User, error) {
	u, err := s.WP.Users.FindByMeta(ctx, key, value)
	if err != nil {
		return nil, notFound(err, wordpress.ErrNotFound, contactsync.ErrUserNotFound)
	}
	return toUser(u), nil
}

// FindByEmail finds the user with exactly this email.
func (s *Users) FindByEmail(ctx context.Context, email string) (*contactsync.User, error) {
	u, err := s.WP.Users.FindByEmail(ctx, email)
	if err != nil {
		return nil, notFound(err, wordpress.ErrNotFound, contactsync.ErrUserNotFound)
	}
	return toUser(u), nil
}

// Lookup finds or creates the user for a contact in one request (companion
// plugin 1.1).
func (s *Users) Lookup(ctx context.Context, l contactsync.Lookup) (contactsync.Found, error) {
	req := wordpress.LookupRequest{Key: l.Key, Value: l.ContactID, Email: l.Email, Password: l.Password, Logins: l.Logins}
	if l.Create != nil {
		create, err := toRequest(l.Create.Change)
		if err != nil {
			return contactsync.Found{}, err
		}
		req.Create = &create
	}
	if l.Update != nil {
		update, err := toRequest(*l.Update)
		if err != nil {
			return contactsync.Found{}, err
		}
		caps := make(map[string]bool, len(l.Shape.Roles))
		for _, r := range l.Shape.Roles {
			caps[r] = true // a role is an own capability entry of its holder
		}
		req.Update, req.UpdateByEmail = &update, l.UpdateByEmail
		req.IfShape = &wordpress.Shape{Roles: l.Shape.Roles, Caps: caps, MetaAbsent: l.Shape.MetaAbsent}
	}
	res, err := s.WP.Users.Lookup(ctx, req)
	switch {
	case errors.Is(err, wordpress.ErrPluginMissing):
		// Work pauses (Classify) until the plugin is installed or updated.
		return contactsync.Found{}, fmt.Errorf("the wpbridge companion plugin on this site is missing or older than 1.1: copy wordpress/plugin/wpbridge.php into wp-content/mu-plugins/: %w", err)
	case errors.Is(err, wordpress.ErrExistingLogin):
		return contactsync.Found{}, fmt.Errorf("%w: %w", contactsync.ErrLoginTaken, err)
	case errors.Is(err, wordpress.ErrExistingEmail):
		return contactsync.Found{}, fmt.Errorf("%w: %w", contactsync.ErrEmailTaken, err)
	case err != nil:
		return contactsync.Found{}, err
	}
	by, ok := foundBy[res.Found]
	if !ok {
		return contactsync.Found{}, fmt.Errorf("lookup: unknown answer %q", res.Found)
	}
	f := contactsync.Found{By: by, PasswordMatches: res.PasswordMatch, Written: res.Written}
	if res.User != nil {
		f.User = toUser(res.User)
	}
	if res.Before != nil {
		f.Before = toUser(res.Before)
	}
	return f, nil
}

var foundBy = map[wordpress.Found]contactsync.FoundBy{
	wordpress.FoundNone: contactsync.FoundNone, wordpress.FoundMeta: contactsync.FoundByContact,
	wordpress.FoundEmail: contactsync.FoundByEmail, wordpress.FoundCreated: contactsync.FoundCreated,
}

// Update writes fields, roles and meta of user u in one request, only while
// u is in u.State when that is set. An empty change with a State reads the
// user and compares (a write of nothing would still run WordPress's
// profile_update hooks).
func (s *Users) Update(ctx context.Context, u *contactsync.User, ch contactsync.Change) (*contactsync.User, error) {
	if ch.IsEmpty() && ch.Hooks == nil {
		return s.check(ctx, u)
	}
	req, err := toRequest(ch)
	if err != nil {
		return nil, err
	}
	req.IfState = u.State
	got, err := s.WP.Users.Update(ctx, u.ID, req)
	switch {
	case errors.Is(err, wordpress.ErrExistingEmail):
		return nil, fmt.Errorf("%w: %w", contactsync.ErrEmailTaken, err)
	case errors.Is(err, wordpress.ErrStale):
		return nil, fmt.Errorf("%w: %w", contactsync.ErrStale, err)
	case err != nil:
		return nil, notFound(err, wordpress.ErrNotFound, contactsync.ErrUserNotFound)
	}
	return toUser(got), nil
}

// check returns user u as WordPress has it now, or ErrStale when its State
// differs from u's.
func (s *Users) check(ctx context.Context, u *contactsync.User) (*contactsync.User, error) {
	if u.State == "" {
		return u, nil
	}
	got, err := s.WP.Users.Get(ctx, u.ID)
	if err != nil {
		return nil, notFound(err, wordpress.ErrNotFound, contactsync.ErrUserNotFound)
	}
	if got.State != u.State {
		return nil, fmt.Errorf("user %d: %w", u.ID, contactsync.ErrStale)
	}
	return toUser(got), nil
}

// Delete deletes user u, its content given to user reassign, only while u
// is in u.State when that is set (else ErrStale); WordPress fires
// wpbridge_user_deleted(id, contactID) and warnings are what its listeners
// threw.
func (s *Users) Delete(ctx context.Context, u *contactsync.User, reassign int64, contactID string) ([]string, error) {
	warnings, err := s.WP.Users.DeleteForContact(ctx, u.ID, reassign, contactID, u.State)
	if errors.Is(err, wordpress.ErrStale) {
		return nil, fmt.Errorf("%w: %w", contactsync.ErrStale, err)
	}
	if err != nil {
		return nil, notFound(err, wordpress.ErrNotFound, contactsync.ErrUserNotFound)
	}
	return warnings, nil
}

// Self loads the user the WordPress client acts as (WP_USERNAME).
func (s *Users) Self(ctx context.Context) (*contactsync.User, error) {
	u, err := s.WP.Users.Me(ctx)
	if err != nil {
		return nil, err
	}
	return toUser(u), nil
}

// ResetKey makes a new password-reset key for user id (companion plugin),
// sending WordPress's reset or new-user email with it as email says.
func (s *Users) ResetKey(ctx context.Context, id int64, email contactsync.KeyEmail) (key, login string, err error) {
	wpEmail := wordpress.KeyEmailNone
	switch email {
	case contactsync.ResetEmail:
		wpEmail = wordpress.KeyEmailReset
	case contactsync.NewUserEmail:
		wpEmail = wordpress.KeyEmailNewUser
	}
	key, login, err = s.WP.Users.ResetKeyEmail(ctx, id, wpEmail)
	if errors.Is(err, wordpress.ErrPluginMissing) {
		return "", "", contactsync.Permanent(fmt.Errorf("the wpbridge companion plugin on this site is too old for password resets and links: update it: %w", err))
	}
	if err != nil {
		return "", "", notFound(err, wordpress.ErrNotFound, contactsync.ErrUserNotFound)
	}
	return key, login, nil
}

// CheckPassword asks WordPress (companion plugin) whether password is the
// user's. A plugin too old to have the check cannot tell: false, as before it
// existed.
func (s *Users) CheckPassword(ctx context.Context, id int64, password string) (bool, error) {
	ok, err := s.WP.Users.CheckPassword(ctx, id, password)
	if errors.Is(err, wordpress.ErrPluginMissing) {
		return false, nil
	}
	if err != nil {
		return false, notFound(err, wordpress.ErrNotFound, contactsync.ErrUserNotFound)
	}
	return ok, nil
}

// userFields maps each core user field, by its FIELD_MAP target name
// (contactsync.CoreFields but role, which is Change.Roles), to its field in the
// WordPress REST API. Writes (toRequest) and reads (toUser) both go through it:
// it is the one place that knows both names.
var userFields = map[string]string{
	"user_login":   "username",
	"user_email":   "email",
	"user_pass":    "password",
	"first_name":   "first_name",
	"last_name":    "last_name",
	"display_name": "name",
	"nickname":     "nickname",
	"description":  "description",
	"user_url":     "url",
}

// toUser reads a WordPress user: its core fields by target name (those the
// answer holds; never the password), roles and meta.
func toUser(u *wordpress.User) *contactsync.User {
	fields := make(map[string]string, len(userFields))
	for target, name := range userFields {
		if v, ok := u.Fields[name]; ok {
			fields[target] = v
		}
	}
	cu := &contactsync.User{ID: u.ID, Login: fields["user_login"], Email: fields["user_email"], Roles: u.Roles, Meta: u.Meta, Fields: fields, State: u.State,
		Warnings: u.Warnings}
	setCapabilities(cu, u)
	return cu
}

// setCapabilities copies what the rules need of u's capabilities: those
// granted directly and the admin-level ones. Without them in the answer the
// user counts as unknown (and so is not managed).
func setCapabilities(cu *contactsync.User, u *wordpress.User) {
	if u.ExtraCapabilities == nil || u.Capabilities == nil {
		cu.CapsUnknown = true
		return
	}
	cu.ExtraCaps = u.GrantedCapabilities()
	for _, c := range wordpress.AdminCapabilities {
		if u.Capabilities[c] || u.ExtraCapabilities[c] {
			cu.AdminCaps = append(cu.AdminCaps, c)
		}
	}
}

// toRequest turns a change into the one WordPress request that writes it.
func toRequest(ch contactsync.Change) (wordpress.UserRequest, error) {
	req := wordpress.UserRequest{Fields: make(map[string]string, len(ch.Fields)+1),
		Roles: ch.Roles, Meta: ch.Meta, SendNotification: ch.SendNotification}
	for target, v := range ch.Fields {
		name, ok := userFields[target]
		if !ok {
			return wordpress.UserRequest{}, contactsync.Permanent(fmt.Errorf("user field %s has no WordPress REST field", target))
		}
		req.Fields[name] = v
	}
	if h := ch.Hooks; h != nil {
		req.Hooks = &wordpress.Hooks{Action: string(h.Action), ContactID: h.ContactID, TagsKey: h.TagsKey, Meta: h.Meta}
		if _, ok := ch.Meta[h.TagsKey]; h.WriteTags && !ok {
			req.Meta = maps.Clone(ch.Meta)
			if req.Meta == nil {
				req.Meta = map[string]any{}
			}
			req.Meta[h.TagsKey] = nil // none: the key is deleted (a no-op when unset), and WordPress still hears it
			if len(h.Tags) > 0 {
				req.Meta[h.TagsKey] = h.Tags
			}
		}
	}
	return req, nil
}

// SetContactID stores an AC contact id in the user's meta key (outbox.UserMeta):
// wpbridge's own write, which the plugin's outbox does not record.
func (u *Users) SetContactID(ctx context.Context, userID int64, key, contactID string) error {
	_, err := u.WP.Users.Update(ctx, userID, wordpress.UserRequest{Meta: map[string]any{key: contactID}})
	if err != nil {
		return fmt.Errorf("store contact id on user %d: %w", userID, err)
	}
	return nil
}
