package contactsync

import "context"

// ContactSource reads and writes ActiveCampaign contacts.
type ContactSource interface {
	Contact(ctx context.Context, id string) (*Contact, error)           // ErrContactNotFound when AC has no such contact
	ContactByEmail(ctx context.Context, email string) (*Contact, error) // ErrContactNotFound when none matches exactly
	TagNames(ctx context.Context, contactID string) ([]string, error)
	FieldID(ctx context.Context, ref string) (string, error) // "12" or "%PERSTAG%" -> field id; ErrFieldNotFound
	SetField(ctx context.Context, contactID, fieldID, value string) error
}

// UserStore reads and writes WordPress users.
type UserStore interface {
	// Lookup finds or creates the user for a contact in one request (see
	// Lookup). A create can fail with ErrEmailTaken, or ErrLoginTaken once
	// every login offered is taken.
	Lookup(ctx context.Context, l Lookup) (Found, error)
	FindByMeta(ctx context.Context, key, value string) (*User, error) // ErrUserNotFound
	FindByEmail(ctx context.Context, email string) (*User, error)     // ErrUserNotFound
	// CheckPassword reports whether password is user id's password, checked
	// by WordPress against the stored hash; the password goes nowhere else.
	// An answer that cannot tell (no such check on this site) is false.
	CheckPassword(ctx context.Context, id int64, password string) (bool, error)
	// Update writes c to user u and returns the user as written. With
	// u.State set, the write is made only while the user is in that state,
	// else nothing is written and the error is ErrStale; an empty c then
	// only checks that. ErrUserNotFound when the user is gone.
	Update(ctx context.Context, u *User, c Change) (*User, error)
	// Delete deletes user u (linked to contactID) for good, its content
	// given to user reassign; warnings are what WordPress listeners of the
	// deletion reported. With u.State set, the user is deleted only while
	// in that state, else nothing is deleted and the error is ErrStale (an
	// administrator promoted since the check is never deleted).
	Delete(ctx context.Context, u *User, reassign int64, contactID string) (warnings []string, err error) // ErrUserNotFound
	// Self is the user wpbridge acts as in WordPress (WP_USERNAME).
	Self(ctx context.Context) (*User, error)
	// ResetKey makes a new WordPress password-reset key for user id (any
	// earlier one stops working) and returns it with the user's login;
	// email says which of WordPress's own emails carries it, if any.
	ResetKey(ctx context.Context, id int64, email KeyEmail) (key, login string, err error)
}

// KeyEmail is the WordPress email sent with a new reset key.
type KeyEmail int

const (
	NoEmail    KeyEmail = iota // the key only
	ResetEmail                 // WordPress's password-reset email (password_reset)
	// NewUserEmail is WordPress's new-user email (send_notification), whose
	// set-password link carries the key: with RETURN_LINK_FIELD the same key
	// serves that email and the link written to AC (a second key would
	// replace the first and break the emailed link).
	NewUserEmail
)

// Lookup asks for the user whose Key meta (the contact-id key) is exactly
// ContactID, else the user whose email is Email (but for the case of ASCII
// letters), else, with Create set, the user created from Create under the
// first free login of Logins. Password, when set, is checked against a user
// found by email (Found.PasswordMatches).
type Lookup struct {
	Key, ContactID string
	Email          string
	Password       string
	Create         *NewUser // its Login is ignored: Logins gives it
	Logins         []string
	// Update, when set, is written in the same request to the user found
	// by contact id (with UpdateByEmail, also to one found by email),
	// provided that user has Shape; Found.Written says whether it was.
	Update        *Change
	UpdateByEmail bool
	Shape         Shape
}

// Shape is what a user must be for Lookup.Update to be written: exactly
// Roles as its roles and its own capability entries, no admin-level
// capability, and none of the meta keys MetaAbsent.
type Shape struct {
	Roles      []string
	MetaAbsent []string
}

// FoundBy says how Lookup came to its user.
type FoundBy int

// The ways Lookup finds a user.
const (
	FoundNone      FoundBy = iota // no user, nothing created
	FoundByContact                // the user linked to the contact id
	FoundByEmail                  // the user with the email
	FoundCreated                  // the user created from Lookup.Create
)

// Found is Lookup's answer.
type Found struct {
	User            *User // nil with FoundNone
	By              FoundBy
	PasswordMatches bool // the user found by email has Lookup.Password
	// Written: Lookup.Update was written. User is then the user after the
	// write, Before the user as found.
	Written bool
	Before  *User
}

// RoleSource tells which WordPress roles are admin-level: hold a capability
// of wordpress.AdminCapabilities. Roles can change at runtime: an implementation may
// cache the answer briefly, not for good. The map is read-only.
type RoleSource interface {
	AdminRoles(ctx context.Context) (map[string]bool, error)
}

// PasswordStore keeps a generated password durably between generating it and
// writing it to ActiveCampaign, so that a crash in between neither loses it
// nor makes a second, different one. Set-password links are kept the same
// way under LinkKeyPrefix + the contact id ("" while a link is owed but not
// made yet).
type PasswordStore interface {
	PendingPassword(ctx context.Context, contactID string) (string, bool, error)
	SavePendingPassword(ctx context.Context, contactID, password string) error
	DeletePendingPassword(ctx context.Context, contactID string) error
}
