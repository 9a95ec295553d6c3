// Package contactsync holds wpbridge's rules for keeping one WordPress user in
// step with one ActiveCampaign contact: which user a contact maps to, what a
// new user's login, password and role are, which fields are written, and when
// a generated password goes back to ActiveCampaign.
//
// It knows nothing about HTTP, queues or the API clients: it talks to
// ActiveCampaign through ContactSource, to WordPress through UserStore and to
// durable storage through PasswordStore, all declared here.
package contactsync

import (
	"context"
	"errors"
	"fmt"
)

// Action is what a webhook asks for.
type Action string

// The actions a webhook can ask for. Add covers Update, which covers UpdateTags.
const (
	ActionAdd        Action = "add"
	ActionUpdate     Action = "update"
	ActionUpdateTags Action = "update_tags"
)

// ParseAction returns the Action named s (lower case), or false.
func ParseAction(s string) (Action, bool) {
	switch a := Action(s); a {
	case ActionAdd, ActionUpdate, ActionUpdateTags:
		return a, true
	}
	return "", false
}

// Rank orders actions by how much they cover: add > update > update_tags.
func (a Action) Rank() int {
	switch a {
	case ActionAdd:
		return 3
	case ActionUpdate:
		return 2
	case ActionUpdateTags:
		return 1
	}
	return 0
}

// Request is the work for one contact: one webhook, or several coalesced ones.
type Request struct {
	ContactID        string
	Action           Action
	Role             string   // role asked for in the URL, "" if none
	SendNotification bool     // send WordPress's new-user email if a user is created
	Tags             []string // tag names from the payload
	HasTags          bool     // Tags came with the payload (else they are loaded from AC)
	EmailHint        string   // contact[email] from the payload
}

// Merge folds a later request for the same contact into r: the stronger
// action wins, a requested notification is kept, the latest role and the
// latest webhook's tags (none: loaded from AC) are used.
func (r Request) Merge(later Request) Request {
	out := r
	if later.Action.Rank() > out.Action.Rank() {
		out.Action = later.Action
	}
	if later.Role != "" {
		out.Role = later.Role
	}
	out.SendNotification = out.SendNotification || later.SendNotification
	// The latest webhook says what the tags are; one without tags means
	// "unknown", so they are loaded from AC rather than taken from an older one.
	out.Tags, out.HasTags = later.Tags, later.HasTags
	if later.EmailHint != "" {
		out.EmailHint = later.EmailHint
	}
	return out
}

// Contact is what the rules need of an ActiveCampaign contact.
type Contact struct {
	ID, Email, FirstName, LastName, Phone, Orgname string
	Fields                                         map[string]string // custom field id -> value
}

// User is what the rules need of a WordPress user.
type User struct {
	ID     int64
	Login  string
	Email  string
	Roles  []string
	Fields map[string]string // core fields by their FIELD_MAP target name (first_name, ...)
	Meta   map[string]any    // string or []string values
}

// Change is a set of writes to one user; empty parts are left alone.
type Change struct {
	Fields           map[string]string // core fields by target name, including user_email and user_pass
	Roles            []string          // replaces all roles when non-nil
	Meta             map[string]any    // string, []string, or nil to delete
	SendNotification bool
}

// IsEmpty reports whether c writes nothing.
func (c Change) IsEmpty() bool {
	return len(c.Fields) == 0 && c.Roles == nil && len(c.Meta) == 0 && !c.SendNotification
}

// NewUser is a user to create.
type NewUser struct {
	Login string
	Change
}

// ContactSource reads and writes ActiveCampaign contacts.
type ContactSource interface {
	Contact(ctx context.Context, id string) (*Contact, error)           // ErrContactNotFound when AC has no such contact
	ContactByEmail(ctx context.Context, email string) (*Contact, error) // ErrContactNotFound when none matches exactly
	TagNames(ctx context.Context, contactID string) ([]string, error)
	FieldID(ctx context.Context, ref string) (string, error) // "12" or "%PERSTAG%" -> field id
	SetField(ctx context.Context, contactID, fieldID, value string) error
}

// UserStore reads and writes WordPress users.
type UserStore interface {
	FindByMeta(ctx context.Context, key, value string) (*User, error) // ErrUserNotFound
	FindByEmail(ctx context.Context, email string) (*User, error)     // ErrUserNotFound
	Create(ctx context.Context, u NewUser) (*User, error)             // ErrLoginTaken, ErrEmailTaken
	Update(ctx context.Context, id int64, c Change) (*User, error)
}

// PasswordStore keeps a generated password durably between generating it and
// writing it to ActiveCampaign, so that a crash in between neither loses it
// nor makes a second, different one.
type PasswordStore interface {
	PendingPassword(ctx context.Context, contactID string) (string, bool, error)
	SavePendingPassword(ctx context.Context, contactID, password string) error
	DeletePendingPassword(ctx context.Context, contactID string) error
}

// Errors the stores return, and the rules' own.
var (
	ErrContactNotFound = errors.New("contact not found in ActiveCampaign")
	ErrUserNotFound    = errors.New("user not found in WordPress")
	ErrLoginTaken      = errors.New("login already taken in WordPress")
	ErrEmailTaken      = errors.New("email already taken in WordPress")
	// ErrPermanent marks failures that no retry can fix.
	ErrPermanent = errors.New("permanent failure")
)

// permanentError wraps an error so that errors.Is(err, ErrPermanent) holds.
type permanentError struct{ err error }

func (e *permanentError) Error() string        { return e.err.Error() }
func (e *permanentError) Unwrap() []error      { return []error{e.err, ErrPermanent} }
func permanentf(format string, a ...any) error { return &permanentError{fmt.Errorf(format, a...)} }

// Permanent marks err as a failure that retrying cannot fix.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// Result says what a request did.
type Result struct {
	Status   string   // "done" or "ignored"
	Message  string   // for people: what happened, or why nothing did
	UserID   int64    // the user acted on, 0 if none
	Created  bool     // a new user was created
	Changes  []string // what was written, e.g. "created", "role", "meta:phone", "tags", "password_returned"
	Warnings []string // rule fallbacks an operator should see (role not allowed, ...)
}

// Result statuses.
const (
	StatusDone    = "done"
	StatusIgnored = "ignored"
)
